"""Import boundaries: a service or the gateway importing another fails the build (the
check `make test` runs, import-linter, on a copy of the tree with one forbidden import)."""
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
PACKAGES = ("kernel", "contracts", "services", "gateway", "cli")
LINT_IMPORTS = str(Path(sys.executable).with_name("lint-imports"))


def lint(tree: Path) -> subprocess.CompletedProcess:
    return subprocess.run([LINT_IMPORTS, "--no-cache"], cwd=tree, capture_output=True, text=True, timeout=120,
                          env={"PYTHONPATH": str(tree), "PATH": "/usr/bin:/bin"})


@pytest.fixture
def tree(tmp_path):
    for package in PACKAGES:
        shutil.copytree(REPO / package, tmp_path / package, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(REPO / "pyproject.toml", tmp_path / "pyproject.toml")
    return tmp_path


def test_the_tree_keeps_its_boundaries(tree):
    result = lint(tree)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


@pytest.mark.parametrize("module, forbidden, broken", [
    ("services/search/querytext.py", "services.catalog.geo", "services.search is not allowed to import services.catalog"),
    ("gateway/inputs.py", "services.catalog.entries", "gateway is not allowed to import services.catalog"),
    ("services/catalog/taxonomy.py", "gateway.auth", "services.catalog is not allowed to import gateway"),
    ("contracts/catalog/api.py", "services.catalog.models", "contracts.catalog.api -> services.catalog.models"),
    ("kernel/topology.py", "cli.registry", "kernel.topology -> cli.registry"),
])
def test_a_forbidden_import_fails_the_check(tree, module, forbidden, broken):
    with open(tree / module, "a") as handle:
        handle.write(f"\nimport {forbidden}  # noqa\n")
    result = lint(tree)
    assert result.returncode != 0
    assert broken in result.stdout, result.stdout
