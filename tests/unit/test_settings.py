"""Settings: defaults, TOML file, environment, and clear refusals naming the key."""

from __future__ import annotations

import re
import tomllib
from datetime import timedelta
from pathlib import Path

import pytest

from erepwatch.errors import ConfigError
from erepwatch.settings import Secret, describe, load_settings, parse_duration, parse_size

EXAMPLE = Path(__file__).resolve().parents[2] / "config" / "erepwatch.example.toml"


def test_defaults_use_sqlite_in_data_dir(tmp_path):
    settings = load_settings(environ={"EREPWATCH_DATA_DIR": str(tmp_path)})
    assert settings.database_url == f"sqlite:///{tmp_path / 'erepwatch.db'}"
    assert settings.allow_private is False and settings.web_addr == "127.0.0.1:8080"


def test_environment_beats_file(tmp_path):
    config = tmp_path / "c.toml"
    config.write_text('[fetch]\ntimeout = "5s"\nper_host = 1\n')
    settings = load_settings(config, environ={"EREPWATCH_FETCH_TIMEOUT": "7s"})
    assert settings.fetch_timeout == timedelta(seconds=7) and settings.fetch_per_host == 1


@pytest.mark.parametrize(
    ("environ", "key"),
    [
        ({"EREPWATCH_FETCH_TIMEOUT": "soon"}, "EREPWATCH_FETCH_TIMEOUT"),
        ({"EREPWATCH_DATABASE_URL": "mysql://x"}, "EREPWATCH_DATABASE_URL"),
        ({"EREPWATCH_SMTP_URL": "http://mail"}, "EREPWATCH_SMTP_URL"),
        ({"EREPWATCH_SMTP_URL": "smtp://u:pw@mail"}, "EREPWATCH_SMTP_URL"),
        ({"EREPWATCH_WEB_ADDR": "8080"}, "EREPWATCH_WEB_ADDR"),
        ({"EREPWATCH_ALLOW_PRIVATE": "perhaps"}, "EREPWATCH_ALLOW_PRIVATE"),
        ({"EREPWATCH_TYPO": "1"}, "EREPWATCH_TYPO"),
        ({"EREPWATCH_SMTP_PASSWORD_FILE": "/nonexistent/pw"}, "EREPWATCH_SMTP_PASSWORD_FILE"),
    ],
    ids=["duration", "db-scheme", "smtp-scheme", "password-in-url", "addr", "bool", "unknown-var", "missing-secret"],
)
def test_bad_environment_names_the_key(environ, key):
    with pytest.raises(ConfigError) as info:
        load_settings(environ=environ)
    assert key in str(info.value)


@pytest.mark.parametrize(
    ("toml", "key"),
    [
        ('[fetch]\ntimeot = "1s"\n', "fetch.timeot"),
        ('[fetch]\nmax_bytes = "lots"\n', "fetch.max_bytes"),
        ('[mail]\nsmtp_password = "x"\n', "mail.smtp_password"),
        ("not toml [", "config"),
    ],
    ids=["unknown-key", "bad-size", "secret-in-file", "bad-toml"],
)
def test_bad_file_names_the_key(tmp_path, toml, key):
    config = tmp_path / "c.toml"
    config.write_text(toml)
    with pytest.raises(ConfigError) as info:
        load_settings(config, environ={})
    assert key in str(info.value)


def test_secret_from_file_never_prints(tmp_path):
    secret = tmp_path / "pw"
    secret.write_text("hunter2\n")
    settings = load_settings(environ={"EREPWATCH_SMTP_PASSWORD_FILE": str(secret)})
    assert isinstance(settings.smtp_password, Secret)
    assert settings.smtp_password.reveal() == "hunter2"
    assert "hunter2" not in repr(settings)


def test_example_documents_every_setting_with_its_env_var():
    text = EXAMPLE.read_text()
    tomllib.loads(text)  # the example is valid TOML (all commented)
    for key, env, _doc, _secret in describe():
        name = key.rpartition(".")[2]
        assert re.search(rf"^# {re.escape(name)}\b", text, re.M), key
        assert env in text, env


def test_example_uncommented_loads_to_the_defaults(tmp_path):
    # Uncommenting every "# key = value" line must give a valid file equal to the defaults.
    lines = []
    for line in EXAMPLE.read_text().splitlines():
        m = re.match(r"^# (\w+ = .*)$", line)
        if m and "..." not in line:
            lines.append(m.group(1))
        elif line.startswith("["):
            lines.append(line)
    config = tmp_path / "full.toml"
    config.write_text("\n".join(lines) + "\n")
    assert load_settings(config, environ={"EREPWATCH_DATA_DIR": str(tmp_path)}) == load_settings(
        environ={"EREPWATCH_DATA_DIR": str(tmp_path)}
    )


@pytest.mark.parametrize(("text", "seconds"), [("30s", 30), ("15m", 900), ("2h", 7200), ("1d", 86400), (45, 45)])
def test_durations(text, seconds):
    assert parse_duration(text) == timedelta(seconds=seconds)


def test_sizes():
    assert parse_size("15MiB") == 15 * 2**20 and parse_size("512KiB") == 512 * 1024
