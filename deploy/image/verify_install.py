"""Check, inside the image, that the installed (non-editable) ``kosi`` package can run every service.

Run by deploy/Dockerfile as ``python -I verify_install.py [--source DIR]`` with the working
directory ``/``, so that only the virtualenv's site-packages can be imported:

* the kernel finds the configs beside it (``kernel.config.REPO_ROOT`` is site-packages), and
  every service's ``config.yaml`` is there and reads;
* with ``--source`` (the builder stage's copy of the repository), every file of the packages
  except the Markdown notes was installed: configs, contracts' JSON schemas, Alembic
  migrations with their ``script.py.mako``, the notify templates, the catalog's reference and
  demo data;
* each service's module and nameko class (each role of search) imports: no runtime package
  was left out of the image (``deploy/image/dev-packages.txt``);
* the packages that only the tests use are not installed;
* the Alembic migrations of every service with a database run on SQLite, and the demo data
  of the catalog and the survey load into it (the reference data is read by a migration);
* the notify templates are found.
Exits non-zero with every problem found.
"""
import argparse
import importlib
import importlib.metadata
import importlib.util
import os
import sys
import sysconfig
import tempfile
from pathlib import Path

PACKAGES = ("kernel", "contracts", "cli", "services", "gateway")
# left out of the image on purpose (not needed at run time)
NOT_INSTALLED_SUFFIXES = (".md",)


def check(problems: list[str], condition: bool, message: str) -> None:
    if not condition:
        problems.append(message)


def dev_package_names(path: Path) -> list[str]:
    names = []
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            names.append(line)
    return names


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--source", type=Path, help="the repository copy the package was built from")
    parser.add_argument("--dev-packages", type=Path, help="dev-packages.txt: these must not be installed")
    args = parser.parse_args()
    problems: list[str] = []

    site_packages = Path(sysconfig.get_paths()["purelib"]).resolve()
    from kernel import config as kernel_config

    root = kernel_config.REPO_ROOT
    check(problems, root == site_packages, f"kernel.config.REPO_ROOT is {root}, not site-packages {site_packages}")

    from cli import registry

    for name in [*registry.SERVICES, "cli"]:
        path = kernel_config.service_config_path(name)
        if not path.is_file():
            problems.append(f"{name}: no config at {path}")
            continue
        try:
            kernel_config.load_config(path)
        except KeyError:
            pass  # a ${VAR} without default: the file is there and parses up to the substitution
        except Exception as error:  # noqa: BLE001
            problems.append(f"{name}: {path} does not read: {error!r}")

    if args.source:
        for package in PACKAGES:
            for source_file in sorted((args.source / package).rglob("*")):
                if not source_file.is_file() or "__pycache__" in source_file.parts:
                    continue
                if source_file.suffix in NOT_INSTALLED_SUFFIXES or source_file.suffix == ".pyc":
                    continue
                relative = source_file.relative_to(args.source)
                check(problems, (site_packages / relative).is_file(), f"not installed: {relative}")

    for name in registry.SERVICES:
        try:
            roles = registry.roles_of(name) or [None]
            for role in roles:
                registry.service_class(name, role)
        except Exception as error:  # noqa: BLE001
            problems.append(f"{name}: its service does not import: {error!r}")
    for module in ("cli.main", "cli.serve", "cli.health", "cli.mailsink", "cli.operator"):
        try:
            importlib.import_module(module)
        except ModuleNotFoundError as error:
            if error.name != module:  # a module the other side may not have yet is fine; a dependency is not
                problems.append(f"{module}: {error!r}")
        except Exception as error:  # noqa: BLE001
            problems.append(f"{module}: {error!r}")

    if args.dev_packages:
        for name in dev_package_names(args.dev_packages):
            try:
                version = importlib.metadata.version(name)
            except importlib.metadata.PackageNotFoundError:
                continue
            problems.append(f"{name} {version} is installed, but only the tests use it")

    templates = Path(importlib.import_module("services.notify.mail").TEMPLATES)
    check(problems, any(templates.glob("*.txt")) and any(templates.glob("*.html")),
          f"no notify templates in {templates}")

    from kernel.db import create_db_engine, unit_of_work_factory
    from kernel.dependencies import database_url_key
    from kernel.migrations import upgrade

    with tempfile.TemporaryDirectory() as scratch:
        for name in registry.DATABASE_SERVICES:
            url = f"sqlite:///{scratch}/{name}.db"
            try:
                upgrade(name, url)
            except Exception as error:  # noqa: BLE001
                problems.append(f"{name}: migrations do not run: {error!r}")
                continue
            demo = f"services.{name}.demo"
            if importlib.util.find_spec(demo) is None:
                continue
            try:
                engine = create_db_engine(url)
                models = importlib.import_module(f"services.{name}.models")
                importlib.import_module(demo).load_demo(unit_of_work_factory(engine, name, models.metadata))
                engine.dispose()
            except Exception as error:  # noqa: BLE001
                problems.append(f"{name}: demo data do not load: {error!r} ({database_url_key(name)}={url})")

    for problem in problems:
        print(f"verify_install: {problem}", file=sys.stderr)
    if not problems:
        print(f"verify_install: kosi {importlib.metadata.version('kosi')} in {site_packages}: all checks passed")
    return 1 if problems else 0


if __name__ == "__main__":
    os.environ.setdefault("LOG_JSON", "false")
    sys.exit(main())
