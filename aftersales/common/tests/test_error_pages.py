"""Our own bilingual 404 and 500 pages with a way back, and the warning when the public URL is unset (issue 14)."""

from __future__ import annotations

import pytest
from django.test import RequestFactory
from django.views.defaults import server_error

from aftersales.common.checks import public_url_check

pytestmark = pytest.mark.django_db


def test_404_is_ours_in_both_languages_with_a_way_back(client):
    response = client.get("/no-such-page/")
    html = response.content.decode()
    assert response.status_code == 404
    assert "页面不存在" in html and "Page not found" in html and 'href="/"' in html
    assert "The requested resource was not found on this server" not in html  # not Django's raw page


def test_500_is_ours_in_both_languages_with_a_way_back():
    response = server_error(RequestFactory().get("/"))
    html = response.content.decode()
    assert response.status_code == 500 and "出错了" in html and "Something went wrong" in html and 'href="/"' in html


def test_a_missing_public_url_is_warned_about_outside_debug(settings):
    settings.DEBUG = False
    settings.AFTERSALES_PUBLIC_URL_SET = False
    settings.AFTERSALES_PUBLIC_URL = "http://localhost:8102"
    (warning,) = public_url_check()
    assert warning.id == "aftersales.W001" and "http://localhost:8102" in warning.msg
    settings.AFTERSALES_PUBLIC_URL_SET = True
    assert public_url_check() == []
