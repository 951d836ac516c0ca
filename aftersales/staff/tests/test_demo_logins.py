"""The demo accounts' published password works from this machine only (issue 13, item 2)."""

from __future__ import annotations

import pytest
from django.core.cache import caches
from django.test import Client

from aftersales.common.demo_login import DEMO_PASSWORD, is_loopback
from aftersales.staff.services import token_create

pytestmark = pytest.mark.django_db

REMOTE = "203.0.113.7"


@pytest.fixture(autouse=True)
def _fresh_counters():
    caches["default"].clear()
    yield
    caches["default"].clear()


def _demo(user):
    user.is_demo = True
    user.set_password(DEMO_PASSWORD)
    user.save()
    return user


def _sign_in(address, username, password, *, lang="en", path="/login/", **extra):
    client = Client(REMOTE_ADDR=address, **extra)
    client.cookies["django_language"] = lang
    return client, client.post(path, {"username": username, "password": password})


def test_demo_password_from_another_machine_is_refused_with_the_reason(world):
    user = _demo(world.advisor)
    client, response = _sign_in(REMOTE, user.username, DEMO_PASSWORD)
    assert response.status_code == 200 and "_auth_user_id" not in client.session
    body = response.content.decode()
    assert "aftersales setup" in body and "localhost" in body
    _client, response = _sign_in(REMOTE, user.username, DEMO_PASSWORD, lang="zh-hans")
    assert "aftersales setup" in response.content.decode() and "演示账号" in response.content.decode()


def test_demo_password_from_the_admin_sign_in_of_another_machine_is_refused(world):
    user = _demo(world.admin)
    client, response = _sign_in(REMOTE, user.username, DEMO_PASSWORD, path="/admin/login/")
    assert response.status_code == 200 and "_auth_user_id" not in client.session
    assert "aftersales setup" in response.content.decode()


@pytest.mark.parametrize("address", ["127.0.0.1", "::1"])
def test_demo_password_from_this_machine_works_as_before(world, address):
    user = _demo(world.advisor)
    client, response = _sign_in(address, user.username, DEMO_PASSWORD)
    assert response.status_code == 302 and client.session["_auth_user_id"] == str(user.pk)


def test_the_proxy_header_decides_when_the_deployment_has_one(world, settings):
    settings.AFTERSALES_PROXY_IP_HEADER = "HTTP_X_REAL_IP"
    user = _demo(world.advisor)
    client, _r = _sign_in("127.0.0.1", user.username, DEMO_PASSWORD, HTTP_X_REAL_IP=REMOTE)  # the proxy is local
    assert "_auth_user_id" not in client.session
    client, _r = _sign_in("127.0.0.1", user.username, DEMO_PASSWORD, HTTP_X_REAL_IP="127.0.0.1")
    assert client.session["_auth_user_id"] == str(user.pk)


def test_a_demo_account_given_a_real_password_signs_in_from_anywhere(world):
    user = _demo(world.advisor)
    user.set_password("a-real-password-9")
    user.save()
    client, response = _sign_in(REMOTE, user.username, "a-real-password-9")
    assert response.status_code == 302 and client.session["_auth_user_id"] == str(user.pk)


def test_a_real_account_with_the_same_password_is_not_affected(world):
    user = world.advisor  # not a demo account, even though its password happens to be demo1234
    user.set_password(DEMO_PASSWORD)
    user.save()
    client, response = _sign_in(REMOTE, user.username, DEMO_PASSWORD)
    assert response.status_code == 302 and client.session["_auth_user_id"] == str(user.pk)


def test_api_tokens_of_demo_accounts_work_from_anywhere(world):
    user = _demo(world.manager)
    _token, key = token_create(actor=user, user=user, name="integration")
    response = Client(REMOTE_ADDR=REMOTE).get("/api/staff/", HTTP_AUTHORIZATION=f"Bearer {key}")
    assert response.status_code == 200, response.content


def test_loopback_addresses():
    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("127.0.0.5")
    assert is_loopback("::ffff:127.0.0.1")
    assert not is_loopback(REMOTE) and not is_loopback("unknown") and not is_loopback("10.0.0.1")
