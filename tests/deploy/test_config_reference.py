"""docs/configuration.md is generated from the config files (cli/config_reference.py) and
cannot drift from them; the deploy env examples set only variables a config reads, and every
service's config loads from its env example with the values the example gives."""
import os
import re
import shutil

import pytest
import yaml

from cli import config_reference as reference
from cli.registry import SERVICES
from kernel.config import load_config, service_config_path

NAMES = [*SERVICES, "cli"]
# an independent reading of the references (not the module's parser)
REFERENCE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)")


def test_the_document_is_generated_from_the_config_files():
    assert reference.DOC_PATH.exists(), f"docs/configuration.md is missing; run: {reference.WRITE_COMMAND}"
    assert reference.DOC_PATH.read_text(encoding="utf-8") == reference.render(), (
        f"docs/configuration.md differs from the config files; run: {reference.WRITE_COMMAND}")
    assert reference.check()


def test_every_variable_and_key_of_every_config_file_is_in_the_document():
    document = reference.render()
    for name in NAMES:
        text = service_config_path(name).read_text(encoding="utf-8")
        for variable in REFERENCE.findall(text):
            assert f"`{variable}`" in document, f"{name}: {variable} is not documented"
        assert f"## {name}\n" in document

        def keys(node, prefix=""):
            for key, value in node.items():
                yield f"{prefix}{key}"
                if isinstance(value, dict):
                    yield from keys(value, f"{prefix}{key}.")

        raw = yaml.load(text, Loader=reference._Loader)
        section = document.split(f"## {name}\n", 1)[1].split("\n## ", 1)[0]
        for key in keys(raw):
            if not isinstance(reference._lookup(raw, key.split(".")), dict):
                assert f"`{key}`" in section, f"{name}: key {key} is not in its section"


def test_a_new_key_in_a_config_file_changes_the_document(tmp_path):
    before = reference.render()
    copy = tmp_path / "config.yaml"
    shutil.copy(service_config_path("catalog"), copy)
    with copy.open("a", encoding="utf-8") as handle:
        handle.write("# how many widgets a catalog keeps | at most\n"
                     "# (a second line)\n"
                     "WIDGETS: ${CATALOG_WIDGETS:12}\n"
                     "WIDGET_SECRET: !text ${CATALOG_WIDGET_SECRET:}  # signs widgets\n"
                     "NESTED:\n"
                     "  DEEP: ${CATALOG_DEEP}\n"
                     "FIXED_LIST: [a, b]\n")
    after = reference.render({"catalog": copy})
    assert after != before
    assert reference.check(paths={"catalog": copy}) is False
    catalog_section = after.split("## catalog\n", 1)[1].split("\n## ", 1)[0]
    rows = {line.split(" | ")[0]: line for line in catalog_section.splitlines() if line.startswith("| `CATALOG_")}
    assert rows["| `CATALOG_WIDGETS`"] == (
        "| `CATALOG_WIDGETS` | `WIDGETS` | `12` |  | how many widgets a catalog keeps \\| at most (a second line) |")
    assert rows["| `CATALOG_WIDGET_SECRET`"].endswith("| empty | secret | signs widgets |")
    assert "`NESTED.DEEP`" in rows["| `CATALOG_DEEP`"] and "**required**" in rows["| `CATALOG_DEEP`"]
    assert "| `FIXED_LIST` | `[a, b]` |" in after
    # the other services are untouched, and a new name appears with its own section
    def services_after_catalog(text):
        return text.split("## search\n", 1)[1].split("## Index")[0]

    assert services_after_catalog(after) == services_after_catalog(before)
    assert "## extra\n" in reference.render({"extra": copy})


def test_a_nested_reference_is_refused(tmp_path):
    path = tmp_path / "config.yaml"
    path.write_text("URL: ${A:${B:x}}\n", encoding="utf-8")
    with pytest.raises(ValueError, match="nested"):
        reference.settings_of(path, "x")


def test_comments_of_the_file_header_belong_to_no_key(tmp_path):
    path = tmp_path / "config.yaml"
    path.write_text("# the service's config\n# Production: deploy/env/x.env.\n# the broker\nAMQP_URI: ${X_AMQP_URI:}\n"
                    "\n# a\n\nB: ${B:1}\nC: 'a # b'   # c\n", encoding="utf-8")
    described = {setting.key: setting.description for setting in reference.settings_of(path, "x")}
    assert described == {"AMQP_URI": "the broker", "B": "", "C": "c"}


@pytest.mark.parametrize("name, secret", [
    ("KOSI_JWT_SECRET", True), ("KOSI_NOTIFY_TOKEN_SECRET", True), ("SMTP_PASSWORD", True),
    ("KOSI_GATEWAY_SIGNING_KEY", True), ("GATEWAY_METRICS_TOKEN", True), ("ELASTICSEARCH_API_KEY", True),
    ("CATALOG_AMQP_URI", True), ("KOSI_OPERATOR_AMQP_URI", True), ("SURVEY_DATABASE_URL", True),
    ("GATEWAY_REDIS_URL", True), ("ELASTICSEARCH_URL", True),
    ("CONFIRM_TOKEN_TTL_HOURS", False), ("PARTICIPATION_TOKEN_TTL_SECONDS", False),
    ("IDEMPOTENCY_KEY_TTL_HOURS", False), ("MANAGE_TOKEN_TTL_DAYS", False), ("KOSI_TRUSTED_SIGNERS", False),
    ("SMTP_USERNAME", False), ("GATEWAY_BROKER_MANAGEMENT_URL", False), ("KOSI_JWKS_URL", False),
    ("PUBLIC_BASE_URL", False), ("SIGNER_PUBLIC_KEY", False),
])
def test_the_secret_rule(name, secret):
    assert reference.is_secret_name(name) is secret


def test_credentials_in_env_examples_are_only_in_secret_variables():
    read = reference.variables_read()
    for path in reference.env_examples():
        assigned, _ = reference.parse_env_file(path)
        for variable, value in assigned.items():
            if re.search(r"://[^/@\s:]*:[^/@\s]+@", value) or "CHANGE_ME" in value:
                assert any(setting.secret for setting in read.get(variable, [])), (
                    f"{path.name}: {variable} holds credentials but the reference does not mark it secret")


def test_no_env_example_sets_a_variable_no_config_reads():
    assert reference.undocumented_env_examples() == {}


def test_the_env_example_check_finds_stale_and_misspelt_variables(tmp_path):
    (tmp_path / "catalog.env.example").write_text(
        "# a comment with no assignment\nCATALOG_AMQP_URI=pyamqp://x\nCATALOG_DATABSE_URL=sqlite://\n"
        "# CATALOG_OLD_SETTING=1   (an example)\n# SEARCH_AMQP_URI=…  NO_SUCH_URI=…\n", encoding="utf-8")
    assert reference.undocumented_env_examples(tmp_path) == {
        str(tmp_path / "catalog.env.example"): ["CATALOG_DATABSE_URL", "CATALOG_OLD_SETTING", "NO_SUCH_URI"]}


def test_every_service_has_an_env_example():
    for name in NAMES:
        assert reference.env_example_path(name).exists(), f"{name} has no deploy/env example"
    assert {reference.env_example_name(path) for path in reference.env_examples()} <= set(NAMES)


def _typed(setting, value):
    """What kernel.config makes of a whole-value reference."""
    if setting.text:
        return value
    return yaml.safe_load(value) if value != "" else ""


@pytest.mark.parametrize("name", NAMES)
def test_the_config_loads_from_its_env_example(name, monkeypatch):
    assigned, _ = reference.parse_env_file(reference.env_example_path(name))
    prefixes = tuple(f"{service.upper()}_" for service in SERVICES) + ("KOSI_",)
    for variable in set(reference.variables_read()) | {key for key in os.environ if key.startswith(prefixes)}:
        monkeypatch.delenv(variable, raising=False)
    for variable, value in assigned.items():
        monkeypatch.setenv(variable, value)

    config = load_config(service_config_path(name))

    amqp_variable = "KOSI_OPERATOR_AMQP_URI" if name == "cli" else f"{name.upper()}_AMQP_URI"
    assert config["AMQP_URI"] == assigned[amqp_variable]
    settings = reference.settings_of(service_config_path(name), name)
    for setting in settings:
        if setting.fixed or not setting.whole:
            continue
        got = reference._lookup(config, setting.key.split("."))
        if setting.variable in assigned:
            expected = _typed(setting, assigned[setting.variable])
        else:  # not in the example: the documented default
            expected = _typed(setting, setting.default)
        assert got == expected, f"{name}: {setting.key} from {setting.variable}"
    # and the example sets nothing its own service does not read
    assert sorted(set(assigned) - {setting.variable for setting in settings}) == []


def test_the_command_checks_and_writes(tmp_path, capsys):
    target = tmp_path / "configuration.md"
    assert reference.main(["--check", "--output", str(target)]) == 1
    assert reference.WRITE_COMMAND in capsys.readouterr().err
    assert reference.main(["--output", str(target)]) == 0
    assert reference.main(["--check", "--output", str(target)]) == 0
    assert reference.check(target)
    target.write_text(target.read_text(encoding="utf-8") + "edited by hand\n", encoding="utf-8")
    assert reference.check(target) is False
