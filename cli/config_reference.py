"""The configuration reference (``docs/configuration.md``), generated from the config files.

Every setting of every service (and of the ``kosi`` command) is read from the YAML files the
services load (``kernel.config.service_config_path`` of each name in ``cli.registry.SERVICES``,
and ``cli``): the key, the environment variable of its ``${VAR:default}``, the default, whether
it is a secret, and the comments written above the key (or at the end of its line). A service
added to the registry appears by itself; a key added to a file changes the document, and the
test suite fails until it is generated again::

    python -m cli.config_reference            # write docs/configuration.md
    python -m cli.config_reference --check    # exit 1 when it differs from the config files
    python -m cli.config_reference --env-examples   # variables of deploy/env/ no config reads

Values come from yaml (its node marks give each key's line); comments from the lines above
that line. Nothing here connects anywhere.
"""
import argparse
import re
import sys
import warnings
from dataclasses import dataclass
from pathlib import Path

import yaml

from kernel.config import _ENV_REF, REPO_ROOT, service_config_path

DOC_PATH = REPO_ROOT / "docs" / "configuration.md"
ENV_DIR = REPO_ROOT / "deploy" / "env"
# the env example of a name, when it is not <name>.env.example
ENV_EXAMPLE_NAMES = {"cli": "operator"}
WRITE_COMMAND = "python -m cli.config_reference"

# the secret rule (stated in the document's introduction, tested in tests/deploy)
_SECRET_WORDS = {"SECRET", "PASSWORD", "PASSWD", "PASSPHRASE", "CREDENTIALS"}
_SECRET_ENDINGS = (("TOKEN",), ("KEY",))  # SIGNING_KEY, API_KEY; not PUBLIC_KEY
# connection URLs whose user:password@ part holds credentials
_CREDENTIAL_URL_ENDINGS = (("AMQP", "URI"), ("AMQP", "URL"), ("DATABASE", "URL"), ("DATABASE", "URI"),
                           ("REDIS", "URL"), ("ELASTICSEARCH", "URL"))


def is_secret_name(name: str) -> bool:
    """Whether a variable (or config key) of this name holds a secret: one of its ``_``-words
    is SECRET, PASSWORD, PASSPHRASE or CREDENTIALS; or it ends in TOKEN or KEY (SIGNING_KEY,
    API_KEY), but not PUBLIC_KEY (so lifetimes such as ``CONFIRM_TOKEN_TTL_HOURS``, which end in
    their unit, are none); or it is a connection URL that carries its credentials (ending in
    AMQP_URI, DATABASE_URL, REDIS_URL or ELASTICSEARCH_URL)."""
    words = tuple(word for word in name.upper().split("_") if word)
    if _SECRET_WORDS & set(words):
        return True
    if words[-2:] == ("PUBLIC", "KEY"):
        return False
    return any(words[-len(ending):] == ending for ending in _SECRET_ENDINGS + _CREDENTIAL_URL_ENDINGS)


@dataclass(frozen=True)
class Setting:
    """One key of a config file: read from ``variable`` (``None``: a fixed value)."""

    service: str
    key: str  # dotted for nested keys: AUTH.JWT_SECRET
    variable: str | None
    default: str | None  # None: no default (the variable must be set)
    text: bool  # tagged !text: taken as written
    whole: bool  # the reference is the whole value (else: part of `raw`)
    raw: str  # the value as written in the file
    value: object  # a fixed setting's value
    description: str
    line: int  # 1-based

    @property
    def fixed(self) -> bool:
        return self.variable is None

    @property
    def secret(self) -> bool:
        return not self.fixed and (is_secret_name(self.variable) or is_secret_name(self.key.split(".")[-1]))


# -- the config files ------------------------------------------------------------------------

def names() -> list[str]:
    """The registry's services, then the operator's CLI."""
    from cli.registry import SERVICES

    return [*SERVICES, "cli"]


def config_paths(paths: dict | None = None) -> dict[str, Path]:
    """Each name's config file; ``paths`` replaces some (or adds names), e.g. for a test."""
    result = {name: Path(service_config_path(name)) for name in names()}
    result.update({name: Path(path) for name, path in (paths or {}).items()})
    return result


class _Loader(yaml.SafeLoader):
    pass


_Loader.add_constructor("!text", lambda loader, node: loader.construct_scalar(node))


def _header_end(lines: list[str]) -> int:
    """Lines before this index are the file's header: its leading comment lines up to the first
    blank line, or up to and including the one naming the production env file (``Production:``),
    whichever comes first. Comments of keys are never taken from it."""
    for index, line in enumerate(lines):
        stripped = line.strip()
        if not stripped:
            return index
        if not stripped.startswith("#"):
            return 0  # no blank line and no Production: line: the comments belong to the first key
        if "Production:" in stripped:
            return index + 1
    return len(lines)


def _comment_text(line: str) -> str:
    return line.strip()[1:].strip()


def _comments_above(lines: list[str], index: int, header_end: int) -> list[str]:
    found = []
    index -= 1
    while index >= header_end and lines[index].strip().startswith("#"):
        found.append(_comment_text(lines[index]))
        index -= 1
    return list(reversed(found))


def _trailing_comment(lines: list[str], value_node) -> str:
    """``KEY: value  # this``: the text after where yaml says the value ends, on its line."""
    mark = value_node.end_mark
    if mark.line >= len(lines):
        return ""
    rest = lines[mark.line][mark.column:].strip()
    return _comment_text(rest) if rest.startswith("#") else ""


def _references(raw: str, where: str) -> list[re.Match]:
    matches = list(_ENV_REF.finditer(raw))
    if "${" in _ENV_REF.sub("", raw) or any("${" in (match.group("default") or "") for match in matches):
        raise ValueError(f"{where}: a nested or malformed ${{…}} reference ({raw!r}); "
                         "kernel.config substitutes only ${VAR} and ${VAR:default}, without nesting")
    return matches


def _contains_reference(node) -> bool:
    if isinstance(node, yaml.ScalarNode):
        return "${" in node.value
    if isinstance(node, yaml.SequenceNode):
        return any(_contains_reference(item) for item in node.value)
    return any(_contains_reference(key) or _contains_reference(value) for key, value in node.value)


def _lookup(data, path: list):
    for part in path:
        data = data[part]
    return data


def settings_of(path, service: str | None = None) -> list[Setting]:
    """Every setting of one config file, in the file's order: one per ``${VAR}`` reference,
    and one per fixed value (a key, or a list, with no reference in it)."""
    path = Path(path)
    service = service or path.parent.name
    text = path.read_text(encoding="utf-8")
    lines = text.splitlines()
    root = yaml.compose(text, Loader=_Loader)
    if root is None:
        return []
    if not isinstance(root, yaml.MappingNode):
        raise ValueError(f"{path}: a config file is a mapping of keys")
    data = yaml.load(text, Loader=_Loader)
    header_end = _header_end(lines)
    settings: list[Setting] = []

    def description(key_node, value_node) -> str:
        parts = _comments_above(lines, key_node.start_mark.line, header_end)
        if value_node.end_mark.line == key_node.start_mark.line:  # a one-line value: KEY: value  # comment
            parts.append(_trailing_comment(lines, value_node))
        return " ".join(part for part in parts if part)

    def visit(node, path_parts: list, key_node):
        key = ".".join(str(part) for part in path_parts)
        where = f"{path}:{node.start_mark.line + 1} ({key})"
        if isinstance(node, yaml.MappingNode):
            for child_key, child_value in node.value:
                visit(child_value, [*path_parts, child_key.value], child_key)
            return
        if not _contains_reference(node):
            settings.append(Setting(service, key, None, None, node.tag == "!text", True,
                                    _source(lines, node), _lookup(data, path_parts),
                                    description(key_node, node), key_node.start_mark.line + 1))
            return
        if isinstance(node, yaml.SequenceNode):
            for position, item in enumerate(node.value):
                if _contains_reference(item):
                    visit(item, [*path_parts[:-1], f"{path_parts[-1]}[{position}]"], key_node)
            return
        for match in _references(node.value, where):
            settings.append(Setting(service, key, match.group("name"), match.group("default"),
                                    node.tag == "!text", _ENV_REF.fullmatch(node.value) is not None,
                                    node.value, None, description(key_node, node),
                                    key_node.start_mark.line + 1))

    for key_node, value_node in root.value:
        visit(value_node, [key_node.value], key_node)
    return settings


def _source(lines: list[str], node) -> str:
    start, end = node.start_mark, node.end_mark
    if start.line == end.line:
        return lines[start.line][start.column:end.column]
    return " ".join(line.strip() for line in lines[start.line:end.line + 1])


def all_settings(paths: dict | None = None) -> dict[str, list[Setting]]:
    return {name: settings_of(path, name) for name, path in config_paths(paths).items()}


def variables_read(paths: dict | None = None) -> dict[str, list[Setting]]:
    """Each environment variable and the settings (of every service) that read it."""
    read: dict[str, list[Setting]] = {}
    for settings in all_settings(paths).values():
        for setting in settings:
            if not setting.fixed:
                read.setdefault(setting.variable, []).append(setting)
    return read


# -- the deploy env examples -----------------------------------------------------------------

_ASSIGNMENT = re.compile(r"^(?:export\s+)?(?P<name>[A-Za-z_][A-Za-z0-9_]*)=(?P<value>.*)$")
_COMMENTED_ASSIGNMENT = re.compile(r"(?:^|(?<=\s))(?P<name>[A-Z][A-Z0-9_]*)=")


def env_example_path(name: str, env_dir=ENV_DIR) -> Path:
    return Path(env_dir) / f"{ENV_EXAMPLE_NAMES.get(name, name)}.env.example"


def env_example_name(path) -> str:
    """The service (or ``cli``) an env example belongs to."""
    stem = Path(path).name.removesuffix(".env.example")
    return {file: name for name, file in ENV_EXAMPLE_NAMES.items()}.get(stem, stem)


def parse_env_file(path) -> tuple[dict[str, str], list[str]]:
    """An env file as systemd's ``EnvironmentFile=`` reads it: the variables it sets, and the
    variables of the commented examples (``# VAR=value``, several on a line allowed)."""
    assigned: dict[str, str] = {}
    commented: list[str] = []
    for number, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), 1):
        stripped = line.strip()
        if not stripped:
            continue
        if stripped[0] in "#;":
            commented += [match.group("name") for match in _COMMENTED_ASSIGNMENT.finditer(stripped[1:].strip())]
            continue
        match = _ASSIGNMENT.match(stripped)
        if not match:
            raise ValueError(f"{path}:{number}: neither a comment nor VAR=value: {line!r}")
        value = match.group("value").strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        assigned[match.group("name")] = value
    return assigned, commented


def env_examples(env_dir=ENV_DIR) -> list[Path]:
    return sorted(Path(env_dir).glob("*.env.example"))


def _display(path: Path) -> str:
    try:
        return str(Path(path).resolve().relative_to(REPO_ROOT))
    except ValueError:
        return str(path)


def undocumented_env_examples(env_dir=ENV_DIR, paths: dict | None = None) -> dict[str, list[str]]:
    """Variables an env example sets (or shows in a commented example) that no config file
    reads: typos and stale settings. Only files with such variables are listed."""
    read = variables_read(paths)
    found = {}
    for path in env_examples(env_dir):
        assigned, commented = parse_env_file(path)
        unknown = [name for name in dict.fromkeys([*assigned, *commented]) if name not in read]
        if unknown:
            found[_display(path)] = unknown
    return found


# -- the document ----------------------------------------------------------------------------

def _escape(text: str) -> str:
    """Table cell text: ``|`` escaped everywhere, ``<``/``>`` outside code spans."""
    parts = text.replace("|", "\\|").split("`")
    for index in range(0, len(parts), 2):  # outside backticks
        parts[index] = parts[index].replace("<", "&lt;").replace(">", "&gt;")
    return "`".join(parts)


def _code(text: str) -> str:
    fence = "``" if "`" in text else "`"
    padding = " " if fence == "``" else ""
    return f"{fence}{padding}{text}{padding}{fence}".replace("|", "\\|")


def _default(setting: Setting) -> str:
    if setting.default is None:
        return "**required**"
    if setting.default == "":
        return "empty"
    return _code(setting.default)


def _fixed_value(value) -> str:
    if isinstance(value, (dict, list)):
        return _code(yaml.safe_dump(value, default_flow_style=True, width=10_000).strip())
    return _code(yaml.safe_dump(value, width=10_000).strip().removesuffix("...").strip())


def _key(setting: Setting) -> str:
    cell = _code(setting.key)
    if not setting.whole:
        cell += f" = {_code(setting.raw)}"
    if setting.text:
        cell += " (`!text`)"
    return cell


INTRO = """\
# Configuration reference

Generated from the config files by `cli/config_reference.py`; do not edit by hand. After
changing a config file run `{command}` (the tests fail until the document matches).

## How settings are read

Each process reads one YAML file: a service its own (`services/<name>/config.yaml`,
`gateway/config.yaml`), the operator's `kosi` command `cli/config.yaml` (files below).
`kernel.config.load_config` replaces each `${{VAR:default}}` with the environment variable
`VAR`, or with `default` when `VAR` is not set at all: a variable that is set but empty gives
an empty value, not the default. A `${{VAR}}` without a default must be set. A value that is
only a reference is then read as YAML (`true`, `10` and `1,4` become a boolean, a number, a
string); a value tagged `!text` (secrets, keys, URLs, addresses) is taken exactly as the
variable holds it, digits, `#` and `: ` included.

In production each service reads its environment from `/etc/kosi/<service>.env` (chmod 600,
the `EnvironmentFile=` of `deploy/systemd/kosi@.service`), made from
`deploy/env/<service>.env.example`; the operator's `kosi` command from
`deploy/env/operator.env.example`, on the operator's machine or in a one-off job. A
variable can be read by several services (`LOG_LEVEL`, `KOSI_TRUSTED_SIGNERS`,
`PUBLIC_BASE_URL`, …): it is set in each of their env files; the index at the end says which
services read which variable.

**Secrets** are marked *secret* below. They come only from the environment (the service's env
file, filled from the secret store), never from a YAML file or the repository; their defaults
are empty or good only on a developer's machine (the `guest` broker user, SQLite files;
`kosi run` makes local keys and secrets in `var/`). The rule: a variable (or the key it sets)
is secret when one of the words of its name (split at `_`) is `SECRET`, `PASSWORD`,
`PASSPHRASE` or `CREDENTIALS`; when its name ends in `TOKEN` or `KEY` (`SIGNING_KEY`,
`API_KEY`; not `PUBLIC_KEY`; lifetimes and intervals such as `CONFIRM_TOKEN_TTL_HOURS` end in
their unit and are none); or when it is a connection URL that carries its user and password
(a name ending in `AMQP_URI`, `DATABASE_URL`, `REDIS_URL` or `ELASTICSEARCH_URL`). Public keys
(`KOSI_TRUSTED_SIGNERS`) and user names are not secret.

The description of a setting is the comment above its key in the YAML file (joined into one
line), or at the end of its line; a group of keys is often explained once, above its first.
Keys whose value has no `${{…}}` are **fixed**: the environment cannot change them (only a
new release of the file); they are listed after each service's table.
"""


def _section(name: str, path: Path, settings: list[Setting], env_dir) -> list[str]:
    title = "the operator's `kosi` command" if name == "cli" else f"the {name} service"
    out = [f"## {name}", "", f"Settings of {title}, from `{_display(path)}`."]
    example = env_example_path(name, env_dir)
    if example.exists():
        where = ("on the operator's machine or in a one-off job, never on a service host" if name == "cli"
                 else f"installed as `/etc/kosi/{name}.env`")
        out[-1] += f" Production env example: `{_display(example)}` ({where})."
    else:
        out[-1] += " No production env example in `deploy/env/` yet."
    variable_settings = [setting for setting in settings if not setting.fixed]
    fixed = [setting for setting in settings if setting.fixed]
    out += ["", "| environment variable | config key | default | secret? | description |",
            "| --- | --- | --- | --- | --- |"]
    for setting in variable_settings:
        out.append(f"| {_code(setting.variable)} | {_key(setting)} | {_default(setting)} | "
                   f"{'secret' if setting.secret else ''} | {_escape(setting.description)} |")
    if fixed:
        out += ["", "Fixed (not read from the environment):", "", "| config key | value | description |",
                "| --- | --- | --- |"]
        for setting in fixed:
            out.append(f"| {_key(setting)} | {_fixed_value(setting.value)} | {_escape(setting.description)} |")
    return out + [""]


def _index(settings_by_name: dict[str, list[Setting]]) -> list[str]:
    read: dict[str, list[Setting]] = {}
    for settings in settings_by_name.values():
        for setting in settings:
            if not setting.fixed:
                read.setdefault(setting.variable, []).append(setting)
    out = ["## Index of environment variables", "",
           "Every variable and the services that read it (with the key it sets there).", "",
           "| environment variable | secret? | read by | default |", "| --- | --- | --- | --- |"]
    for variable in sorted(read):
        settings = read[variable]
        readers = ", ".join(f"{setting.service} ({_code(setting.key)})" for setting in settings)
        defaults = {setting.default for setting in settings}
        if len(defaults) == 1:
            default = _default(settings[0])
        else:
            default = "differs: " + ", ".join(f"{setting.service} {_default(setting)}" for setting in settings)
        secret = "secret" if any(setting.secret for setting in settings) else ""
        out.append(f"| {_code(variable)} | {secret} | {readers} | {default} |")
    return out + [""]


def render(paths: dict | None = None, env_dir=ENV_DIR) -> str:
    """The Markdown of ``docs/configuration.md``; ``paths`` (name → config file) replaces or
    adds config files, e.g. a test's copy."""
    settings_by_name = all_settings(paths)
    files = config_paths(paths)
    out = [INTRO.format(command=WRITE_COMMAND), "Files:", ""]
    out += [f"- {name}: `{_display(path)}`" for name, path in files.items()]
    out.append("")
    for name, settings in settings_by_name.items():
        out += _section(name, files[name], settings, env_dir)
    out += _index(settings_by_name)
    return "\n".join(out).rstrip("\n") + "\n"


def write(path=DOC_PATH, paths: dict | None = None) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render(paths), encoding="utf-8")
    return path


def check(path=DOC_PATH, paths: dict | None = None) -> bool:
    """Whether the document at ``path`` is what the config files make now."""
    path = Path(path)
    return path.exists() and path.read_text(encoding="utf-8") == render(paths)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m cli.config_reference", description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="exit 1 when the document differs from the config files")
    parser.add_argument("--env-examples", action="store_true",
                        help="list variables of deploy/env/*.env.example that no config file reads (exit 1 if any)")
    parser.add_argument("--output", default=str(DOC_PATH), help="the document (default: docs/configuration.md)")
    args = parser.parse_args(argv)
    warnings.filterwarnings("ignore", message=r"\s*Eventlet is deprecated")  # cli.registry imports nameko
    if args.env_examples:
        found = undocumented_env_examples()
        for file, variables in found.items():
            print(f"{file}: no config file reads {', '.join(variables)}", file=sys.stderr)
        return 1 if found else 0
    if args.check:
        if not check(args.output):
            print(f"{_display(Path(args.output))} differs from the config files; run: {WRITE_COMMAND}", file=sys.stderr)
            return 1
        print(f"{_display(Path(args.output))} is up to date")
        return 0
    print(f"wrote {_display(write(args.output))}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
