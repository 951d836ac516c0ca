"""WeChat template messages end to end: wechatpy against a local fake of the Official Account API."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

import pytest
from django.core.cache import caches
from django.db import transaction
from django.utils import timezone

from aftersales.customers.models import Customer
from aftersales.customers.services import customer_create
from aftersales.messaging import dispatch
from aftersales.messaging.adapters.provider_common import clear_template_cache
from aftersales.messaging.adapters.wechat import WeChatTemplateAdapter, api_base_url
from aftersales.messaging.choices import AttemptOutcome, MessageStatus
from aftersales.messaging.models import ChannelSettings, DeliveryAttempt, Message, MessageTemplate
from aftersales.messaging.services import message_enqueue
from aftersales.messaging.tests.fakes import FakeWeChat

OPENID = "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"
GONE = "oUpF8uN0tF0ll0w1ngAnym0reXyz"
TEMPLATE_ID = "ngqIpbwh8bUfcSsECmogfXcV14J0tQlEpBO27izEYtY"
BODY = "{{ greeting }}，您的{{ plate }}维修进度：{{ progress }}。"
VARIABLES = {
    "customer_name": "张伟", "greeting": "张先生", "store_name": "Store A", "store_phone": "020-38888888",
    "plate": "粤B12345", "model": "凯美瑞", "progress": "机油更换中", "link": "https://example.invalid/r/1",
}


@pytest.fixture(autouse=True)
def _fresh_caches():
    clear_template_cache()
    caches["default"].clear()  # the access token lives there
    yield
    clear_template_cache()
    caches["default"].clear()


@pytest.fixture
def wx(world):
    with FakeWeChat(followers={OPENID}, unsubscribed={GONE}, templates={TEMPLATE_ID: ["greeting", "plate", "progress"]}) as fake:
        cfg, _created = ChannelSettings.objects.get_or_create(store=world.a)
        cfg.wechat_app_id, cfg.wechat_app_secret, cfg.wechat_api_base = fake.app_id, fake.app_secret, fake.url
        cfg.save()
        MessageTemplate.objects.create(
            group=world.group, store=world.a, kind="repair.progress", channel="wechat", language="zh-hans", body=BODY,
            provider_template_code=TEMPLATE_ID,
        )
        customers = {}

        def customer(openid: str = OPENID) -> Customer:
            if openid not in customers:
                c = customer_create(actor=world.advisor, store=world.a, name="张伟", mobile=f"1381234{len(customers):04d}", title="mr")
                Customer.objects.filter(pk=c.pk).update(wechat_openid=openid, preferred_channel="wechat")
                c.refresh_from_db()
                customers[openid] = c
            return customers[openid]

        def enqueue(key: str, openid: str = OPENID) -> Message:
            with transaction.atomic():
                return message_enqueue(kind="repair.progress", store=world.a, customer=customer(openid), variables=VARIABLES,
                                       dedup_key=key, language="zh-hans")

        yield SimpleNamespace(fake=fake, cfg=cfg, enqueue=enqueue)


def sends(fake):
    return fake.calls_for("template_send")


@pytest.mark.django_db(transaction=True)
def test_sends_template_message_and_reuses_the_token(wx):
    m1, m2 = wx.enqueue("w1"), wx.enqueue("w2")
    assert m1.channel == "wechat" and m1.recipient == OPENID
    dispatch.dispatch_due()
    for m in (m1, m2):
        m.refresh_from_db()
        assert m.status == MessageStatus.SENT, m.last_error
        [delivery] = wx.fake.delivered(f"aftersales-msg-{m.pk}")
        assert m.provider == "wechat" and m.provider_message_id == delivery.provider_id
    call = sends(wx.fake)[0]
    assert call.params["touser"] == OPENID and call.params["template_id"] == TEMPLATE_ID
    assert call.params["data"] == {"greeting": {"value": "张先生"}, "plate": {"value": "粤B12345"}, "progress": {"value": "机油更换中"}}
    assert call.params["url"] == VARIABLES["link"]
    assert wx.fake.token_requests == 1  # one token for both messages (and for the next adapter instance)
    WeChatTemplateAdapter(wx.cfg).send(Message.objects.get(pk=m1.pk))
    assert wx.fake.token_requests == 1


@pytest.mark.django_db(transaction=True)
def test_expired_token_is_refreshed_and_retried(wx):
    wx.enqueue("w0")
    dispatch.dispatch_due()
    wx.fake.expire_tokens()
    m = wx.enqueue("w1")
    dispatch.dispatch_due()
    m.refresh_from_db()
    assert m.status == MessageStatus.PENDING and "42001" in m.last_error
    assert DeliveryAttempt.objects.get(message=m).outcome == AttemptOutcome.RETRY
    Message.objects.filter(pk=m.pk).update(next_attempt_at=timezone.now())
    dispatch.dispatch_due()
    m.refresh_from_db()
    assert m.status == MessageStatus.SENT, m.last_error
    assert wx.fake.token_requests == 2


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("code", ["40001", "42001", "45009", "-1"])
def test_temporary_errors(wx, code):
    wx.fake.fail_next(1, code)
    m = wx.enqueue("t")
    before = timezone.now()
    dispatch.dispatch_due()
    m.refresh_from_db()
    assert m.status == MessageStatus.PENDING and m.next_attempt_at > before + dt.timedelta(seconds=20)
    assert code in m.last_error
    assert DeliveryAttempt.objects.get(message=m).outcome == AttemptOutcome.RETRY
    Message.objects.filter(pk=m.pk).update(next_attempt_at=timezone.now())
    dispatch.dispatch_due()
    m.refresh_from_db()
    assert m.status == MessageStatus.SENT and wx.fake.delivered_count(f"aftersales-msg-{m.pk}") == 1


@pytest.mark.django_db(transaction=True)
def test_permanent_errors(wx):
    first = wx.enqueue("p1", openid=GONE)
    wx.fake.fail_next(1, "40037", "invalid template_id")  # the first send (batches of one: in queue order)
    bad_openid = wx.enqueue("p2", openid="oUpF8uNotAFollowerAtAll000")
    dispatch.dispatch_due(batch_size=1)
    results = {}
    for m in (first, bad_openid):
        m.refresh_from_db()
        assert m.status == MessageStatus.FAILED, m.last_error
        assert DeliveryAttempt.objects.get(message=m).outcome == AttemptOutcome.FAILED
        results[m.pk] = m.last_error
    assert "40037" in results[first.pk]
    assert "40003" in results[bad_openid.pk]
    gone_again = wx.enqueue("p3", openid=GONE)
    dispatch.dispatch_due()
    gone_again.refresh_from_db()
    assert gone_again.status == MessageStatus.FAILED and "43004" in gone_again.last_error
    assert wx.fake.deliveries == []


@pytest.mark.django_db(transaction=True)
def test_wrong_secret_fails_visibly(wx):
    ChannelSettings.objects.filter(pk=wx.cfg.pk).update(wechat_app_secret="nope")
    m = wx.enqueue("s1")
    dispatch.dispatch_due()
    m.refresh_from_db()
    assert m.status == MessageStatus.FAILED and "40125" in m.last_error


@pytest.mark.django_db(transaction=True)
def test_timeout_after_accepting_is_not_delivered_twice(wx):
    """client_msg_id: the retry after a lost answer is de-duplicated by WeChat within 10 minutes."""
    m = wx.enqueue("d1")
    wx.fake.drop_next(1, after_accepting=True)
    dispatch.dispatch_due()
    m.refresh_from_db()
    assert m.status == MessageStatus.PENDING
    Message.objects.filter(pk=m.pk).update(next_attempt_at=timezone.now())
    dispatch.dispatch_due()
    m.refresh_from_db()
    assert m.status == MessageStatus.SENT
    assert len(sends(wx.fake)) == 2 and wx.fake.delivered_count(f"aftersales-msg-{m.pk}") == 1


@pytest.mark.django_db(transaction=True)
def test_crash_mid_send_is_unknown_never_resent(wx):
    m = wx.enqueue("c1")
    [claimed] = dispatch.claim(10)
    WeChatTemplateAdapter(wx.cfg).send(claimed)  # the process dies before recording
    Message.objects.filter(pk=m.pk).update(claimed_at=timezone.now() - dt.timedelta(minutes=15))
    assert dispatch.recover_stale() == {AttemptOutcome.UNKNOWN: 1}
    m.refresh_from_db()
    assert m.status == MessageStatus.UNKNOWN
    dispatch.dispatch_due()
    assert wx.fake.delivered_count(f"aftersales-msg-{m.pk}") == 1 and len(sends(wx.fake)) == 1


def test_api_base_override():
    assert api_base_url("") == "https://api.weixin.qq.com/cgi-bin/"
    assert api_base_url("http://127.0.0.1:9/") == "http://127.0.0.1:9/cgi-bin/"
    assert api_base_url("http://127.0.0.1:9/cgi-bin") == "http://127.0.0.1:9/cgi-bin/"
