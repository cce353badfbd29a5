from kernel.config import load_config


def test_env_substitution_with_defaults_types_and_quotes(tmp_path, monkeypatch):
    path = tmp_path / "c.yaml"
    path.write_text(
        'URL: ${KOSI_T_URL:sqlite:///x.db}\n'
        'PORT: ${KOSI_T_PORT:8000}\n'
        'QUOTED: "${KOSI_T_NAME:anon}-suffix"\n'
        'NESTED:\n  LIST:\n    - ${KOSI_T_FLAG:true}\n'
    )
    monkeypatch.setenv("KOSI_T_NAME", "kosi")
    config = load_config(path)
    assert config == {"URL": "sqlite:///x.db", "PORT": 8000, "QUOTED": "kosi-suffix",
                      "NESTED": {"LIST": [True]}}


def test_missing_variable_without_default_is_an_error(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("SECRET: ${KOSI_T_SURELY_UNSET}\n")
    try:
        load_config(path)
    except KeyError as error:
        assert "KOSI_T_SURELY_UNSET" in str(error)
    else:
        raise AssertionError("expected KeyError")
