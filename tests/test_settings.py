"""Settings: defaults, the environment over .env, clear errors, secrets never shown."""
from __future__ import annotations

from pathlib import Path

import pytest

from connector.settings import Settings, SettingsError


def test_defaults_are_an_embedded_setup():
    settings = Settings.from_mapping({})
    assert settings.database_url == "sqlite:///data/connector.db"
    assert (settings.poll_interval_seconds, settings.backfill_days, settings.imported_label) == (30, 7, "Helpdesk/Imported")
    assert settings.admin_bind == ("127.0.0.1", 8080) and settings.smtp_inbound_bind == ("127.0.0.1", 2525)
    assert settings.gmail_api_endpoint == ""


def test_the_environment_wins_over_the_env_file(tmp_path: Path):
    env_file = tmp_path / ".env"
    env_file.write_text("POLL_INTERVAL_SECONDS=60\nDATA_DIR=/srv/connector\nGMAIL_API_ENDPOINT=http://127.0.0.1:9/\n")
    settings = Settings.from_env({"POLL_INTERVAL_SECONDS": "15"}, env_file=env_file)
    assert settings.poll_interval_seconds == 15
    assert settings.database_url == "sqlite:////srv/connector/connector.db"
    assert settings.gmail_api_endpoint == "http://127.0.0.1:9"


def test_an_empty_imported_label_turns_labelling_off():
    assert Settings.from_mapping({"IMPORTED_LABEL": ""}).imported_label == ""


@pytest.mark.parametrize("key,value,says", [
    ("POLL_INTERVAL_SECONDS", "often", "POLL_INTERVAL_SECONDS must be a whole number"),
    ("POLL_INTERVAL_SECONDS", "0", "at least 1"),
    ("AFTER_IMPORT", "delete", "AFTER_IMPORT must be one of none, mark_read, archive"),
    ("ADMIN_BIND", "8080", "ADMIN_BIND must look like HOST:PORT"),
    ("LOG_LEVEL", "chatty", "LOG_LEVEL must be one of"),
    ("SMTP_RELAY_URL", "http://relay", "SMTP_RELAY_URL must start with smtp://"),
])
def test_bad_values_get_a_clear_error_naming_the_key(key, value, says):
    with pytest.raises(SettingsError, match=says):
        Settings.from_mapping({key: value})


def test_secrets_are_never_shown():
    settings = Settings.from_mapping({"ADMIN_TOKEN": "tok-123", "TOKEN_ENCRYPTION_KEY": "key-456",
                                      "SMTP_RELAY_URL": "smtp://u:pw-789@relay:587"})
    shown = repr(settings) + str(settings.describe())
    assert not any(secret in shown for secret in ("tok-123", "key-456", "pw-789"))
    assert settings.describe()["admin_token"] == "(set)"


def test_an_id_that_cannot_exist_is_refused_before_the_database_is_asked(capsys):
    from connector.cli import main

    with pytest.raises(SystemExit) as exit_:
        main(["--env-file", "/dev/null", "tickets", "show", "2147483648"])
    assert exit_.value.code == 2
    assert "not an id that can exist" in capsys.readouterr().err


# --- Every setting declared once; .env.example is generated from the declarations -----------------

ENV_EXAMPLE = Path(__file__).resolve().parents[1] / ".env.example"


def test_env_example_is_exactly_what_the_declarations_generate():
    from connector.settings import env_example

    assert ENV_EXAMPLE.read_text(encoding="utf-8") == env_example(), \
        "regenerate it: python -m connector.settings > .env.example"


def test_every_setting_has_a_key_a_section_and_a_doc_and_appears_in_env_example():
    from dataclasses import fields

    from connector.settings import declared, env_key

    assert [f.name for f in declared()] == [f.name for f in fields(Settings)]
    lines = ENV_EXAMPLE.read_text(encoding="utf-8").splitlines()
    for f in declared():
        assert f.metadata["doc"].strip() and f.metadata["section"], f.name
        assert sum(line.startswith(f"{env_key(f)}=") for line in lines) == 1, env_key(f)


def test_copying_env_example_unchanged_gives_the_defaults():
    assert Settings.from_env({}, env_file=ENV_EXAMPLE) == Settings()


NEW_KEYS = {"PARSE_WORKERS": ("parse_workers", 2, 1), "PARSE_TIMEOUT_SECONDS": ("parse_timeout_seconds", 20, 1),
            "PARSE_MEMORY_MB": ("parse_memory_mb", 1024, 64),
            "SMTP_DATA_IDLE_SECONDS": ("smtp_data_idle_seconds", 60, 1),
            "SMTP_COMMAND_TIMEOUT_SECONDS": ("smtp_command_timeout_seconds", 30, 1),
            "SMTP_MAX_CONNECTIONS": ("smtp_max_connections", 100, 1),
            "SMTP_MAX_CONNECTIONS_PER_PEER": ("smtp_max_connections_per_peer", 20, 1),
            "ADMIN_MAX_BODY_BYTES": ("admin_max_body_bytes", 33554432, 1024)}


@pytest.mark.parametrize("key", NEW_KEYS)
def test_the_limits_of_reading_smtp_and_admin_have_defaults_and_are_read(key):
    name, default, minimum = NEW_KEYS[key]
    assert getattr(Settings(), name) == getattr(Settings.from_mapping({key: ""}), name) == default
    assert getattr(Settings.from_mapping({key: f" {minimum + 5} "}), name) == minimum + 5
    assert getattr(Settings.from_mapping({key: str(minimum)}), name) == minimum


@pytest.mark.parametrize("key", NEW_KEYS)
def test_a_limit_below_its_minimum_is_refused_in_one_line_naming_the_key(key):
    _, _, minimum = NEW_KEYS[key]
    with pytest.raises(SettingsError) as below:
        Settings.from_mapping({key: str(minimum - 1)})
    assert str(below.value) == f"{key} must be at least {minimum}, not {minimum - 1}"
    with pytest.raises(SettingsError) as word:
        Settings.from_mapping({key: "lots"})
    assert str(word.value) == f"{key} must be a whole number, not 'lots'"


def test_values_are_parsed_as_before():
    settings = Settings.from_mapping({"LOG_LEVEL": "debug", "ADMIN_BIND": "[::1]:9000", "DATA_DIR": "~/c",
                                      "INBOUND_DOMAIN": "  help.example.com ", "SMTP_RELAY_URL": "smtps://r:465",
                                      "DATABASE_URL": "", "LEASE_TTL_SECONDS": "3"})
    assert (settings.log_level, settings.admin_bind) == ("DEBUG", ("::1", 9000))
    assert settings.data_dir == Path("~/c").expanduser() and settings.inbound_domain == "help.example.com"
    assert settings.database_url.endswith("/c/connector.db") and settings.smtp_relay_url == "smtps://r:465"
    with pytest.raises(SettingsError, match="^LEASE_TTL_SECONDS must be at least 3, not 2$"):
        Settings.from_mapping({"LEASE_TTL_SECONDS": "2"})
    assert "smtps://r:465" not in repr(settings) and settings.describe()["smtp_relay_url"] == "(set)"
