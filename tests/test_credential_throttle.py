"""Every credential check is throttled like /login/ (issue 13, item 3): the admin site's sign-in (25 wrong passwords
then the right one used to let in) and API token guessing, with common.throttle's limits and shared counters."""

from __future__ import annotations

import pytest
from django.test import Client

from aftersales.common import throttle
from aftersales.common.tests.api_helpers import Api, token_key_for
from aftersales.common.tests.factories import make_staff

pytestmark = pytest.mark.django_db
PASSWORD = "pw-for-tests-123"  # the factories' password


@pytest.fixture
def root(world):
    return make_staff("group_admin", world.a, is_superuser=True, is_staff=True, username="root")


def _admin_login(client, password):
    return client.post("/admin/login/?next=/admin/", {"username": "root", "password": password, "next": "/admin/"})


def test_admin_sign_in_refuses_after_the_limit_even_the_right_password(root):
    client = Client()
    for _ in range(throttle.LOGIN_FAILURES_PER_ACCOUNT):
        assert _admin_login(client, "wrong").status_code == 200
    response = _admin_login(client, PASSWORD)
    assert response.status_code == 429
    assert "Retry-After" in response
    assert "_auth_user_id" not in client.session
    assert client.get("/admin/").status_code == 302  # still signed out


def test_admin_sign_in_works_below_the_limit(root):
    client = Client()
    for _ in range(3):
        _admin_login(client, "wrong")
    response = _admin_login(client, PASSWORD)
    assert response.status_code == 302 and response["Location"] == "/admin/"
    assert client.get("/admin/").status_code == 200


def test_admin_and_staff_sign_in_share_the_counters(root):
    client = Client()
    for _ in range(throttle.LOGIN_FAILURES_PER_ACCOUNT):
        client.post("/login/", {"username": "root", "password": "wrong"})
    assert _admin_login(client, PASSWORD).status_code == 429


def test_token_guessing_is_throttled_per_address(world):
    key = token_key_for(world.advisor, actor=world.manager)
    for n in range(throttle.LOGIN_FAILURES_PER_ADDRESS):
        assert Api.bearer(f"as_guess{n}").get("/api/stores/").status_code == 401
    response = Api.bearer(key).get("/api/stores/")
    assert response.status_code == 429 and response.json()["code"] == "too_many_attempts"
    # another address is not affected
    other = Api(Client(REMOTE_ADDR="10.9.9.9"), {"Authorization": f"Bearer {key}"})
    assert other.get("/api/stores/").status_code == 200


def test_valid_tokens_do_not_count(world):
    key = token_key_for(world.advisor, actor=world.manager)
    for _ in range(throttle.LOGIN_FAILURES_PER_ADDRESS + 5):
        assert Api.bearer(key).get("/api/stores/").status_code == 200
