"""Attempt limits: the sign-in page stops checking passwords after too many failures from one address and says how
long to wait (HTTP 429). The open complaint form's limits are tested in feedback/tests/test_public_throttle.py."""

from __future__ import annotations

import pytest

from aftersales.common import throttle
from aftersales.web.views import LOGIN_FAILURES_PER_ACCOUNT

pytestmark = pytest.mark.django_db


def test_fixed_window_counts_and_refuses_then_opens_again():
    t0 = 1_000_000.0 * 900  # the start of a window
    for n in range(1, 4):
        assert throttle.record("t", "x", window=900, now=t0 + n) == n
    throttle.check("t", "x", limit=4, window=900, now=t0 + 5)  # 3 < 4: let through
    throttle.record("t", "x", window=900, now=t0 + 6)
    with pytest.raises(throttle.TooManyRequests) as exc:
        throttle.check("t", "x", limit=4, window=900, now=t0 + 60)
    assert exc.value.status == 429 and exc.value.code == "too_many_attempts"
    assert exc.value.extra["retry_after"] == 840 and " 14 " in str(exc.value.message)
    throttle.check("t", "y", limit=4, window=900, now=t0 + 60)  # another client is not affected
    throttle.check("t", "x", limit=4, window=900, now=t0 + 900)  # the next window starts empty


def test_client_ip_only_trusts_the_configured_proxy_header(rf, settings):
    request = rf.get("/", REMOTE_ADDR="10.0.0.5", HTTP_X_REAL_IP="1.2.3.4", HTTP_X_FORWARDED_FOR="5.6.7.8")
    settings.AFTERSALES_PROXY_IP_HEADER = ""
    assert throttle.client_ip(request) == "10.0.0.5"
    settings.AFTERSALES_PROXY_IP_HEADER = "HTTP_X_REAL_IP"
    assert throttle.client_ip(request) == "1.2.3.4"


def _sign_in(client, username, password, lang="en"):
    client.cookies["django_language"] = lang
    return client.post("/login/", {"username": username, "password": password})


def test_sign_in_stops_checking_passwords_after_ten_failures(client, world):
    user = world.advisor
    user.set_password("correct-horse-battery")
    user.save()
    for _n in range(LOGIN_FAILURES_PER_ACCOUNT):
        response = _sign_in(client, user.username, "wrong")
        assert response.status_code == 200 and "_auth_user_id" not in client.session
    response = _sign_in(client, user.username, "correct-horse-battery")  # right password, but too late
    assert response.status_code == 429 and "_auth_user_id" not in client.session
    assert int(response["Retry-After"]) > 0
    assert "Too many attempts" in response.content.decode() and 'data-testid="login-throttled"' in response.content.decode()
    assert "尝试次数过多" in _sign_in(client, user.username, "correct-horse-battery", lang="zh-hans").content.decode()
    other = world.manager  # another account from the same address is still let in
    other.set_password("another-good-one")
    other.save()
    assert _sign_in(client, other.username, "another-good-one").status_code == 302
    from django.core.cache import caches

    caches["default"].clear()  # the window is over
    client.logout()
    assert _sign_in(client, user.username, "correct-horse-battery").status_code == 302
