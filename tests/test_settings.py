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
        main(["--env-file", "/nonexistent", "tickets", "show", "2147483648"])
    assert exit_.value.code == 2
    assert "not an id that can exist" in capsys.readouterr().err
