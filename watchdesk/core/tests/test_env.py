import json
import os
import subprocess
import sys

import pytest
from django.core.exceptions import ImproperlyConfigured

from watchdesk.env import (
    env_bool,
    env_int,
    env_list,
    env_networks,
    env_ports,
    env_secret,
    env_str,
    parse_email_url,
)


def test_bool_accepts_only_true_and_false_words():
    assert env_bool("X", False, environ={"X": "true"}) is True
    assert env_bool("X", True, environ={"X": "Off"}) is False
    assert env_bool("X", True, environ={}) is True
    assert env_bool("X", False, environ={"X": "  "}) is False
    with pytest.raises(ImproperlyConfigured, match="X must be true or false, not 'flase'"):
        env_bool("X", False, environ={"X": "flase"})


def test_int_rejects_words_and_numbers_below_the_minimum():
    assert env_int("N", 3, environ={"N": "12"}) == 12
    assert env_int("N", 3, environ={}) == 3
    with pytest.raises(ImproperlyConfigured, match="N must be a whole number"):
        env_int("N", 3, environ={"N": "twelve"})
    with pytest.raises(ImproperlyConfigured, match="N must be at least 1, not 0"):
        env_int("N", 3, minimum=1, environ={"N": "0"})


def test_list_splits_on_commas_and_drops_blanks():
    assert env_list("L", environ={"L": "a.example, b.example,,"}) == ["a.example", "b.example"]
    assert env_list("L", ["x"], environ={}) == ["x"]
    assert env_str("S", "d", environ={"S": " v "}) == "v"


def test_networks_are_cidr_ranges_and_a_bad_one_is_named():
    value = {"NETS": "10.20.0.0/16, 127.0.0.1, fd00::/8"}
    assert env_networks("NETS", environ=value) == ["10.20.0.0/16", "127.0.0.1/32", "fd00::/8"]
    assert env_networks("NETS", environ={}) == []
    with pytest.raises(ImproperlyConfigured, match="NETS: 'intranet' is not a network"):
        env_networks("NETS", environ={"NETS": "10.0.0.0/8,intranet"})


def test_ports_are_numbers_in_range():
    assert env_ports("PORTS", environ={"PORTS": "8080, 8443"}) == [8080, 8443]
    for bad in ("http", "0", "70000", "-1"):
        with pytest.raises(ImproperlyConfigured, match="is not a port number"):
            env_ports("PORTS", environ={"PORTS": bad})


def test_secret_from_a_file(tmp_path):
    path = tmp_path / "key"
    path.write_text("s3cret\n")
    assert env_secret("K", environ={"K_FILE": str(path)}) == "s3cret"
    assert env_secret("K", environ={"K": "direct"}) == "direct"
    assert env_secret("K", "fallback", environ={}) == "fallback"


def test_secret_refuses_both_forms_a_missing_file_and_an_empty_file(tmp_path):
    empty = tmp_path / "empty"
    empty.write_text("")
    with pytest.raises(ImproperlyConfigured, match="not both"):
        env_secret("K", environ={"K": "a", "K_FILE": str(empty)})
    with pytest.raises(ImproperlyConfigured, match="cannot read"):
        env_secret("K", environ={"K_FILE": str(tmp_path / "missing")})
    with pytest.raises(ImproperlyConfigured, match="is empty"):
        env_secret("K", environ={"K_FILE": str(empty)})


def test_email_url_smtp_with_credentials_and_starttls():
    config = parse_email_url("smtp://me%40x.org:p%3Ass@mail.example.org:587?tls=true", outbox_dir="/o")
    assert config == {
        "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
        "EMAIL_HOST": "mail.example.org",
        "EMAIL_PORT": 587,
        "EMAIL_HOST_USER": "me@x.org",
        "EMAIL_HOST_PASSWORD": "p:ss",
        "EMAIL_USE_SSL": False,
        "EMAIL_USE_TLS": True,
        "EMAIL_TIMEOUT": 30,
    }


def test_email_url_smtps_defaults_to_port_465_and_implicit_tls():
    config = parse_email_url("smtps://mail.example.org", outbox_dir="/o")
    assert (config["EMAIL_PORT"], config["EMAIL_USE_SSL"], config["EMAIL_USE_TLS"]) == (465, True, False)


def test_email_url_file_and_console():
    assert parse_email_url("file:///srv/outbox", outbox_dir="/o")["EMAIL_FILE_PATH"] == "/srv/outbox"
    assert parse_email_url("file://", outbox_dir="/o")["EMAIL_FILE_PATH"] == "/o"
    assert parse_email_url("console:", outbox_dir="/o")["EMAIL_BACKEND"].endswith("console.EmailBackend")


@pytest.mark.parametrize(
    ("url", "backend"),
    [
        ("anymail://mailgun", "anymail.backends.mailgun.EmailBackend"),
        ("anymail://amazon_ses", "anymail.backends.amazon_ses.EmailBackend"),
        ("anymail://Postmark", "anymail.backends.postmark.EmailBackend"),
        ("anymail://brevo", "anymail.backends.brevo.EmailBackend"),
    ],
)
def test_email_url_anymail_selects_the_providers_backend(url, backend):
    assert parse_email_url(url, outbox_dir="/o") == {"EMAIL_BACKEND": backend}


@pytest.mark.slow
def test_provider_credentials_come_from_anymail_variables(tmp_path):
    secret = tmp_path / "webhook_secret"
    secret.write_text("hooks:s3cret\n")
    environ = {key: value for key, value in os.environ.items() if not key.startswith(("ANYMAIL_", "EMAIL_"))}
    environ.update(
        DJANGO_SETTINGS_MODULE="watchdesk.settings",
        WATCHDESK_VAR_DIR=str(tmp_path),
        EMAIL_URL="anymail://postmark",
        ANYMAIL_POSTMARK_SERVER_TOKEN="server-token",
        ANYMAIL_WEBHOOK_SECRET_FILE=str(secret),
        ANYMAIL_IGNORE_UNSUPPORTED_FEATURES="true",
    )
    script = (
        "import json; from django.conf import settings as s; print(json.dumps([s.EMAIL_BACKEND, s.ANYMAIL]))"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], env=environ, capture_output=True, text=True, timeout=60, check=True
    )
    assert json.loads(result.stdout) == [
        "anymail.backends.postmark.EmailBackend",
        {
            "IGNORE_UNSUPPORTED_FEATURES": True,
            "POSTMARK_SERVER_TOKEN": "server-token",
            "WEBHOOK_SECRET": "hooks:s3cret",
        },
    ]


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("http://mail.example.org", "must start with smtp://, smtps://, anymail://"),
        ("anymail://mailchimp", "no provider 'mailchimp'; choose one of amazon_ses, brevo, "),
        ("anymail://base", "no provider 'base'"),
        ("anymail://", "names no provider"),
        ("anymail://key:secret@mailgun", "ANYMAIL_MAILGUN_API_KEY"),
        ("smtp://", "names no host"),
        ("smtp://mail.example.org:port", "invalid port"),
        ("smtp://mail.example.org?tls=maybe", "tls must be true or false"),
    ],
)
def test_email_url_errors_name_the_problem(url, message):
    with pytest.raises(ImproperlyConfigured, match=message):
        parse_email_url(url, outbox_dir="/o")
