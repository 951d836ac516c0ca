"""Aliyun and Tencent SMS adapters end to end: the real SDKs against local fakes of each provider's API."""

from __future__ import annotations

import datetime as dt
import json
from types import SimpleNamespace

import pytest
from django.db import transaction
from django.utils import timezone

from aftersales.customers.services import customer_create
from aftersales.messaging import dispatch
from aftersales.messaging.adapters.aliyun import AliyunSmsAdapter, phone_for_aliyun
from aftersales.messaging.adapters.provider_common import clear_template_cache, endpoint_parts
from aftersales.messaging.adapters.tencent import TencentSmsAdapter, phone_for_tencent
from aftersales.messaging.choices import AttemptOutcome, MessageStatus
from aftersales.messaging.models import ChannelSettings, DeliveryAttempt, Message, MessageTemplate
from aftersales.messaging.services import message_enqueue
from aftersales.messaging.tests.fakes import FakeAliyunSms, FakeTencentSms

TEMPLATE_BODY = "{{ greeting }}您好，{{ plate }}已预约{{ date }} {{ time }}，顾问{{ advisor_name }}。{{ greeting }}，改期请点 {{ link }}"
ORDER = ["greeting", "plate", "date", "time", "advisor_name", "link"]
VARIABLES = {
    "customer_name": "张伟", "greeting": "张先生", "store_name": "Store A", "store_phone": "020-38888888",
    "plate": "粤B12345", "model": "凯美瑞", "date": "2026-11-25", "time": "10:30", "advisor_name": "林晓燕",
    "link": "https://example.invalid/a/1",
}
PROVIDER_CODES = {"aliyun": "SMS_276450123", "tencent": "1856789"}


@pytest.fixture(autouse=True)
def _fresh_caches():
    clear_template_cache()
    yield
    clear_template_cache()


@pytest.fixture
def aliyun():
    with FakeAliyunSms(sign_names={"天河汽修"}, templates={PROVIDER_CODES["aliyun"]: ORDER}) as fake:
        yield fake


@pytest.fixture
def tencent():
    with FakeTencentSms(sign_names={"天河汽修"}, templates={PROVIDER_CODES["tencent"]: len(ORDER)}) as fake:
        yield fake


@pytest.fixture(params=["aliyun", "tencent"])
def sms(request, world):
    """A store configured for one provider, pointing at its fake; a customer; helpers to queue and inspect."""
    provider = request.param
    fake = request.getfixturevalue(provider)
    cfg, _created = ChannelSettings.objects.get_or_create(store=world.a)
    cfg.sms_provider = provider
    cfg.sms_sign_name = "天河汽修"
    cfg.sms_endpoint = fake.url
    cfg.quiet_start = cfg.quiet_end = dt.time(0, 0)
    if provider == "aliyun":
        cfg.sms_access_key_id, cfg.sms_access_key_secret = fake.access_key_id, fake.access_key_secret
    else:
        cfg.sms_access_key_id, cfg.sms_access_key_secret = fake.secret_id, fake.secret_key
        cfg.sms_sdk_app_id, cfg.sms_region = fake.sdk_app_id, "ap-guangzhou"
    cfg.save()
    MessageTemplate.objects.create(
        group=world.group, store=world.a, kind="appointment.reminder", channel="sms", language="zh-hans",
        body=TEMPLATE_BODY, provider_template_code=PROVIDER_CODES[provider],
    )
    customer = customer_create(actor=world.advisor, store=world.a, name="张伟", mobile="13812345678", title="mr")

    def enqueue(key: str = "r1") -> Message:
        with transaction.atomic():
            return message_enqueue(
                kind="appointment.reminder", store=world.a, customer=customer, variables=VARIABLES, dedup_key=key,
                channel="sms", language="zh-hans",
            )

    return SimpleNamespace(provider=provider, fake=fake, cfg=cfg, customer=customer, enqueue=enqueue)


def adapter_for(sms):
    cfg = ChannelSettings.objects.get(pk=sms.cfg.pk)
    return (AliyunSmsAdapter if sms.provider == "aliyun" else TencentSmsAdapter)(cfg)


def send_call(sms):
    return sms.fake.calls_for("SendSms")


# ---- the happy path -----------------------------------------------------------------------------------------
@pytest.mark.django_db(transaction=True)
def test_sends_through_the_sdk_with_the_providers_parameters(sms):
    m = sms.enqueue()
    totals = dispatch.dispatch_due()
    m.refresh_from_db()
    assert m.status == MessageStatus.SENT, (totals, m.last_error)
    [delivery] = sms.fake.delivered(m.pk)
    assert m.provider == sms.provider and m.provider_message_id == delivery.provider_id
    assert delivery.sign == "天河汽修" and delivery.template == PROVIDER_CODES[sms.provider]
    expected = [VARIABLES[name] for name in ORDER]
    [call] = send_call(sms)
    if sms.provider == "aliyun":
        assert call.params["PhoneNumbers"] == "13812345678"
        assert call.params["OutId"] == str(m.pk)
        assert list(json.loads(call.params["TemplateParam"]).items()) == list(zip(ORDER, expected, strict=True))
    else:
        assert call.params["PhoneNumberSet"] == ["+8613812345678"]
        assert call.params["SessionContext"] == str(m.pk)
        assert call.params["TemplateParamSet"] == expected
        assert call.params["SmsSdkAppId"] == sms.fake.sdk_app_id
        assert call.headers["x-tc-region"] == "ap-guangzhou"
    [attempt] = DeliveryAttempt.objects.filter(message=m)
    assert attempt.outcome == AttemptOutcome.SENT and attempt.provider_message_id == delivery.provider_id


# ---- error mapping -------------------------------------------------------------------------------------------
TEMPORARY = {
    "aliyun": [("isv.BUSINESS_LIMIT_CONTROL", None), ("Throttling.User", 400), ("ServiceUnavailable", 503)],
    "tencent": [("LimitExceeded.PhoneNumberThirtySecondLimit", None), ("InternalError.Timeout", None),
                ("RequestLimitExceeded", None)],
}
PERMANENT = {
    "aliyun": ["isv.MOBILE_NUMBER_ILLEGAL", "isv.SMS_TEMPLATE_ILLEGAL", "isv.INVALID_PARAMETERS", "isv.SMS_SIGNATURE_ILLEGAL"],
    "tencent": ["InvalidParameterValue.IncorrectPhoneNumber", "FailedOperation.TemplateIncorrectOrUnapproved",
                "FailedOperation.SignatureIncorrectOrUnapproved"],
}


@pytest.mark.django_db(transaction=True)
def test_temporary_errors_retry_with_backoff_then_send_once(sms):
    for i, (code, status) in enumerate(TEMPORARY[sms.provider]):
        sms.fake.fail_next(1, code, status=status)
        m = sms.enqueue(f"t{i}")
        before = timezone.now()
        dispatch.dispatch_due()
        m.refresh_from_db()
        assert m.status == MessageStatus.PENDING, (code, m.status, m.last_error)
        assert m.next_attempt_at > before + dt.timedelta(seconds=20)
        assert code in m.last_error
        [attempt] = DeliveryAttempt.objects.filter(message=m)
        assert attempt.outcome == AttemptOutcome.RETRY and code in attempt.error
        Message.objects.filter(pk=m.pk).update(next_attempt_at=timezone.now())
        dispatch.dispatch_due()
        m.refresh_from_db()
        assert m.status == MessageStatus.SENT, (code, m.last_error)
        assert sms.fake.delivered_count(m.pk) == 1
        assert list(DeliveryAttempt.objects.filter(message=m).values_list("outcome", flat=True)) == ["retry", "sent"]


@pytest.mark.django_db(transaction=True)
def test_permanent_errors_fail_the_message(sms):
    for i, code in enumerate(PERMANENT[sms.provider]):
        sms.fake.fail_next(1, code)
        m = sms.enqueue(f"p{i}")
        dispatch.dispatch_due()
        m.refresh_from_db()
        assert m.status == MessageStatus.FAILED, (code, m.status, m.last_error)
        assert code in m.last_error
        assert DeliveryAttempt.objects.get(message=m).outcome == AttemptOutcome.FAILED
        assert sms.fake.delivered_count(m.pk) == 0


@pytest.mark.django_db(transaction=True)
def test_wrong_credentials_and_bad_signatures_fail(sms):
    m = sms.enqueue("k1")
    ChannelSettings.objects.filter(pk=sms.cfg.pk).update(sms_access_key_secret="not-the-secret")
    dispatch.dispatch_due()
    m.refresh_from_db()
    assert m.status == MessageStatus.FAILED
    assert ("SignatureDoesNotMatch" if sms.provider == "aliyun" else "AuthFailure.SignatureFailure") in m.last_error
    m2 = sms.enqueue("k2")
    ChannelSettings.objects.filter(pk=sms.cfg.pk).update(sms_access_key_id="someone-else")
    dispatch.dispatch_due()
    m2.refresh_from_db()
    assert m2.status == MessageStatus.FAILED
    assert ("InvalidAccessKeyId.NotFound" if sms.provider == "aliyun" else "AuthFailure.SecretIdNotFound") in m2.last_error
    assert sms.fake.deliveries == []


@pytest.mark.django_db(transaction=True)
def test_provider_down_is_temporary(sms):
    m = sms.enqueue()
    sms.fake.stop()
    dispatch.dispatch_due()
    m.refresh_from_db()
    assert m.status == MessageStatus.PENDING and m.next_attempt_at > timezone.now()
    assert DeliveryAttempt.objects.get(message=m).outcome == AttemptOutcome.RETRY


@pytest.mark.django_db(transaction=True)
def test_connection_dropped_before_accepting_retries(sms):
    m = sms.enqueue()
    sms.fake.drop_next(1)
    dispatch.dispatch_due()
    m.refresh_from_db()
    assert m.status == MessageStatus.PENDING, m.last_error
    assert sms.fake.delivered_count(m.pk) == 0
    Message.objects.filter(pk=m.pk).update(next_attempt_at=timezone.now())
    dispatch.dispatch_due()
    m.refresh_from_db()
    assert m.status == MessageStatus.SENT and sms.fake.delivered_count(m.pk) == 1


@pytest.mark.django_db(transaction=True)
def test_connection_dropped_after_accepting_is_found_not_resent(sms):
    """A timeout after the provider took the message: the adapter looks it up instead of letting it be resent."""
    m = sms.enqueue()
    sms.fake.drop_next(1, after_accepting=True)
    dispatch.dispatch_due()
    m.refresh_from_db()
    assert m.status == MessageStatus.SENT, m.last_error
    [delivery] = sms.fake.delivered(m.pk)
    assert m.provider_message_id in (delivery.provider_id, f"outid:{m.pk}")
    assert len(send_call(sms)) == 1


# ---- reconciliation after a crash --------------------------------------------------------------------------
def _backdate(m: Message, minutes: int = 15) -> None:
    Message.objects.filter(pk=m.pk).update(claimed_at=timezone.now() - dt.timedelta(minutes=minutes))


@pytest.mark.django_db(transaction=True)
def test_crash_after_the_provider_accepted_is_reconciled_without_resending(sms):
    m = sms.enqueue()
    [claimed] = dispatch.claim(10)
    result = adapter_for(sms).send(claimed)  # ... and the process dies before recording it
    _backdate(m)
    counts = dispatch.recover_stale()
    assert counts == {AttemptOutcome.RECONCILED: 1}
    m.refresh_from_db()
    assert m.status == MessageStatus.SENT and m.provider == sms.provider
    if sms.provider == "tencent":
        assert m.provider_message_id == result.provider_message_id  # the receipt carries the SerialNo
    assert DeliveryAttempt.objects.get(message=m).outcome == AttemptOutcome.RECONCILED
    dispatch.dispatch_due()
    assert sms.fake.delivered_count(m.pk) == 1
    assert len(send_call(sms)) == 1


@pytest.mark.django_db(transaction=True)
def test_crash_before_sending_is_resent_once(sms):
    m = sms.enqueue()
    dispatch.claim(10)  # the process dies before calling the provider
    _backdate(m)
    counts = dispatch.recover_stale()
    assert counts == {AttemptOutcome.RETRY: 1}
    m.refresh_from_db()
    assert m.status == MessageStatus.PENDING
    dispatch.dispatch_due()
    m.refresh_from_db()
    assert m.status == MessageStatus.SENT, m.last_error
    assert sms.fake.delivered_count(m.pk) == 1
    dispatch.recover_stale()
    dispatch.dispatch_due()
    assert sms.fake.delivered_count(m.pk) == 1


@pytest.mark.django_db(transaction=True)
def test_reconciliation_with_the_provider_down_waits_for_the_next_sweep(sms):
    m = sms.enqueue()
    dispatch.claim(10)
    _backdate(m)
    sms.fake.stop()
    assert dispatch.recover_stale() == {}
    m.refresh_from_db()
    assert m.status == MessageStatus.SENDING


@pytest.mark.django_db(transaction=True)
def test_tencent_waits_for_receipts_before_concluding_not_sent(tencent, world):
    cfg, _created = ChannelSettings.objects.get_or_create(store=world.a)
    cfg.sms_provider, cfg.sms_endpoint, cfg.sms_sign_name = "tencent", tencent.url, "天河汽修"
    cfg.sms_access_key_id, cfg.sms_access_key_secret, cfg.sms_sdk_app_id = tencent.secret_id, tencent.secret_key, tencent.sdk_app_id
    cfg.save()
    MessageTemplate.objects.create(group=world.group, store=world.a, kind="appointment.reminder", channel="sms",
                                   language="zh-hans", body=TEMPLATE_BODY, provider_template_code=PROVIDER_CODES["tencent"])
    c = customer_create(actor=world.advisor, store=world.a, name="李娜", mobile="13912345678", title="ms")
    with transaction.atomic():
        m = message_enqueue(kind="appointment.reminder", store=world.a, customer=c, variables=VARIABLES, dedup_key="g1",
                            channel="sms", language="zh-hans")
    dispatch.claim(10)
    _backdate(m, minutes=1)  # stale for the dispatcher, but receipts may still be on their way
    assert dispatch.recover_stale(older_than=dt.timedelta(seconds=30)) == {}
    m.refresh_from_db()
    assert m.status == MessageStatus.SENDING
    _backdate(m, minutes=10)
    assert dispatch.recover_stale() == {AttemptOutcome.RETRY: 1}


# ---- small pieces ---------------------------------------------------------------------------------------------
def test_phone_formats():
    assert phone_for_aliyun("+8613812345678") == "13812345678"
    assert phone_for_aliyun("+85261234567") == "85261234567"
    assert phone_for_tencent("+8613812345678") == "+8613812345678"
    assert phone_for_tencent("13812345678") == "+8613812345678"


def test_endpoint_override():
    assert endpoint_parts("", "dysmsapi.aliyuncs.com") == ("https", "dysmsapi.aliyuncs.com")
    assert endpoint_parts("http://127.0.0.1:8081/", "x") == ("http", "127.0.0.1:8081")
    assert endpoint_parts("sms.example.com", "x") == ("https", "sms.example.com")
