"""Inside WeChat the owner's official-account openid is bound after the SMS sign-in (OAuth2 snsapi_base against a
local fake speaking WeChat's protocol), so WeChat Pay JSAPI has a payer; a forged or stale state, or a used code,
binds nothing."""

from __future__ import annotations

import urllib.parse

import pytest
import requests

from aftersales.common.models import AuditEvent
from aftersales.customers.models import Customer

from .conftest import last_code, sign_in
from .wechat_oauth_fake import FakeWeChatOAuth

pytestmark = pytest.mark.django_db

WECHAT = ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148 "
          "MicroMessenger/8.0.47")


@pytest.fixture
def oauth(settings):
    fake = FakeWeChatOAuth().start()
    settings.WECHAT_MP_APP_ID, settings.WECHAT_MP_APP_SECRET = fake.app_id, fake.secret
    settings.WECHAT_OAUTH_AUTHORIZE_URL = f"{fake.base}/connect/oauth2/authorize"
    settings.WECHAT_OAUTH_API = fake.base
    yield fake
    fake.stop()


def _through_wechat(client, location):
    """The browser at WeChat's authorize page: WeChat sends it back to us with code and state."""
    answer = requests.get(location.split("#", 1)[0], allow_redirects=False, timeout=10)
    assert answer.status_code == 302, answer.text
    back = urllib.parse.urlsplit(answer.headers["Location"])
    return client.get(f"{back.path}?{back.query}", HTTP_USER_AGENT=WECHAT)


def test_signing_in_inside_wechat_binds_the_openid(client, owners, oauth):
    zhang = owners.zhang
    client.post("/app/login/", {"mobile": zhang.mobile, "action": "send"}, HTTP_USER_AGENT=WECHAT)
    verified = client.post("/app/login/", {"mobile": zhang.mobile, "code": last_code(zhang.mobile), "action": "verify",
                                           "next": "/app/points/"}, HTTP_USER_AGENT=WECHAT)
    assert verified.status_code == 302 and verified["Location"].startswith("/app/wechat/bind/")
    to_wechat = client.get(verified["Location"], HTTP_USER_AGENT=WECHAT)
    assert to_wechat.status_code == 302 and to_wechat["Location"].startswith(oauth.base)
    assert "scope=snsapi_base" in to_wechat["Location"] and to_wechat["Location"].endswith("#wechat_redirect")
    done = _through_wechat(client, to_wechat["Location"])
    assert done.status_code == 302 and done["Location"] == "/app/points/"
    assert Customer.objects.get(pk=zhang.pk).wechat_openid == oauth.openid
    assert AuditEvent.objects.filter(action="portal.wechat_bound", customer_id=zhang.pk).count() == 1


def test_a_state_of_another_owner_or_a_used_code_binds_nothing(client, owners, oauth):
    from django.test import Client

    sign_in(client, owners.zhang, ip="10.0.1.1")
    to_wechat = client.get("/app/wechat/bind/?next=/app/", HTTP_USER_AGENT=WECHAT)
    answer = requests.get(to_wechat["Location"].split("#", 1)[0], allow_redirects=False, timeout=10)
    back = urllib.parse.urlsplit(answer.headers["Location"])
    li = Client()
    sign_in(li, owners.li, ip="10.0.1.2")  # Li replays Zhang's way back
    stolen = li.get(f"{back.path}?{back.query}", HTTP_USER_AGENT=WECHAT)
    assert stolen.status_code == 422 and 'data-field="state"' in stolen.content.decode()
    assert Customer.objects.get(pk=owners.li.pk).wechat_openid == ""
    assert client.get(f"{back.path}?{back.query}", HTTP_USER_AGENT=WECHAT).status_code == 302
    again = client.get(f"{back.path}?{back.query}", HTTP_USER_AGENT=WECHAT)  # the code was used
    assert again.status_code == 422 and 'data-field="code"' in again.content.decode()
    forged = client.get("/app/wechat/back/?code=x&state=forged", HTTP_USER_AGENT=WECHAT)
    assert forged.status_code == 422


def test_the_pay_page_in_wechat_offers_to_confirm_the_account_first(client, owners, oauth, world):
    from aftersales.billing.services import invoice_issue
    from aftersales.billing.tests.helpers import ready_order

    invoice = invoice_issue(actor=world.manager, order=ready_order(world))
    owner = invoice.customer
    Customer.objects.filter(pk=owner.pk).update(mobile="+8613900139001")
    owner.refresh_from_db()
    sign_in(client, owner, ip="10.0.1.4")
    page = client.get(f"/app/orders/{invoice.order_id}/pay/", HTTP_USER_AGENT=WECHAT).content.decode()
    assert 'data-testid="wechat-bind-link"' in page
    Customer.objects.filter(pk=owner.pk).update(wechat_openid="o-bound")
    page = client.get(f"/app/orders/{invoice.order_id}/pay/", HTTP_USER_AGENT=WECHAT).content.decode()
    assert 'data-testid="wechat-bind-link"' not in page
