"""TLS and header settings from the environment, and no-store on personal data (issue 13, item 8)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from django.test import Client

from aftersales.common.tests.api_helpers import Api

PRODUCTION = {
    "AFTERSALES_PUBLIC_URL": "https://dms.example.com",
    "AFTERSALES_PROXY_SSL_HEADER": "HTTP_X_FORWARDED_PROTO",
    "AFTERSALES_SSL_REDIRECT": "1",
    "AFTERSALES_HSTS_INCLUDE_SUBDOMAINS": "1",
    "AFTERSALES_HSTS_PRELOAD": "1",
}
PRINT = (
    "import django, json; django.setup(); from django.conf import settings as s; print(json.dumps({k: getattr(s, k) "
    "for k in ['ALLOWED_HOSTS', 'SESSION_COOKIE_SECURE', 'CSRF_COOKIE_SECURE', 'SECURE_HSTS_SECONDS', "
    "'SECURE_SSL_REDIRECT', 'SECURE_PROXY_SSL_HEADER']}))"
)


def _settings(extra: dict[str, str]) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AFTERSALES_") or k == "AFTERSALES_DATA_DIR"}
    env.update(extra, DJANGO_SETTINGS_MODULE="aftersales.settings")
    out = subprocess.run([sys.executable, "-c", PRINT], env=env, capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_https_public_url_turns_on_the_production_defaults():
    prod = _settings(PRODUCTION)
    assert prod["ALLOWED_HOSTS"] == ["dms.example.com", "localhost", "127.0.0.1"]
    assert prod["SESSION_COOKIE_SECURE"] and prod["CSRF_COOKIE_SECURE"]
    assert prod["SECURE_HSTS_SECONDS"] == 31536000 and prod["SECURE_SSL_REDIRECT"]
    assert prod["SECURE_PROXY_SSL_HEADER"] == ["HTTP_X_FORWARDED_PROTO", "https"]
    plain = _settings({"AFTERSALES_PUBLIC_URL": "http://192.168.1.20:8000"})
    assert plain["ALLOWED_HOSTS"] == ["*"] and not plain["SESSION_COOKIE_SECURE"] and plain["SECURE_HSTS_SECONDS"] == 0


def test_check_deploy_is_clean_in_the_documented_production_setup():
    env = {k: v for k, v in os.environ.items() if not k.startswith("AFTERSALES_") or k == "AFTERSALES_DATA_DIR"}
    env.update(PRODUCTION, DJANGO_SETTINGS_MODULE="aftersales.settings")
    result = subprocess.run([sys.executable, "-m", "django", "check", "--deploy", "--fail-level", "WARNING"],
                            env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.django_db
def test_pages_and_api_answers_are_not_stored(world):
    client = Client()
    client.force_login(world.advisor)
    for url in ["/", "/customers/", "/tokens/"]:
        assert "no-store" in client.get(url)["Cache-Control"], url
    assert "no-store" in Api.session(world.advisor).get("/api/customers/")["Cache-Control"]
    assert "no-store" in Api.session(world.advisor).get(f"/api/staff/{world.advisor.pk}")["Cache-Control"]
