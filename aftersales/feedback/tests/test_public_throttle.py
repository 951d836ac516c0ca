"""The open complaint form (no login) stops taking cases per mobile number and posts per address (HTTP 429)."""

from __future__ import annotations

import pytest

from aftersales.feedback.models import FeedbackCase

pytestmark = pytest.mark.django_db


def _complaint(client, loop, mobile, address="203.0.113.9"):
    data = {"kind": "complaint", "name": "张伟", "mobile": mobile, "text": "洗车后车身有划痕", "lang": "en"}
    return client.post(f"/feedback/submit/{loop.store.pk}/", data, REMOTE_ADDR=address)


def test_open_complaint_form_limits_cases_per_mobile_and_posts_per_address(client, loop):
    from aftersales.feedback.views import PUBLIC_CASES_PER_MOBILE, PUBLIC_POSTS_PER_ADDRESS

    for n in range(PUBLIC_CASES_PER_MOBILE):
        assert _complaint(client, loop, "138 0013 8000", address=f"198.51.100.{n}").status_code == 200
    response = _complaint(client, loop, "+86 13800138000", address="198.51.100.99")  # same number, written otherwise
    assert response.status_code == 429 and "Too many attempts" in response.content.decode()
    assert FeedbackCase.objects.count() == PUBLIC_CASES_PER_MOBILE
    posts = PUBLIC_CASES_PER_MOBILE + 1
    for n in range(PUBLIC_POSTS_PER_ADDRESS - 1):  # one address, many numbers (and bad posts count too)
        _complaint(client, loop, f"1390013{n:04d}" if n % 2 else "not a number", address="192.0.2.1")
        posts += 1
    assert _complaint(client, loop, "13700137000", address="192.0.2.1").status_code == 200  # the 20th post
    before = FeedbackCase.objects.count()
    response = _complaint(client, loop, "13700137001", address="192.0.2.1")
    assert response.status_code == 429 and int(response["Retry-After"]) > 0
    assert FeedbackCase.objects.count() == before
    assert _complaint(client, loop, "13700137002", address="192.0.2.2").status_code == 200  # another address
