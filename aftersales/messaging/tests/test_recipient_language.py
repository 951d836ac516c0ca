"""Every message is written in its recipient's language (the customer's, or the staff member's setting), whatever
the language of the request, task or command that causes it (issue 16): subjects, greetings, the store's name,
opt-out lines, and no doubled punctuation where a variable ends a sentence."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.utils.translation import gettext_lazy, override

from aftersales.common.tests.factories import CustomerFactory, StoreFactory, make_staff
from aftersales.common.text import has_cjk, localized_name
from aftersales.messaging.choices import Channel, Purpose
from aftersales.messaging.kinds import KINDS, SUBJECTS, default_subject
from aftersales.messaging.rendering import tidy
from aftersales.messaging.services import customer_variables, message_enqueue

pytestmark = pytest.mark.django_db

STAFF_KINDS = {"staff.task", "workshop.progress_silent", "people.certificate_expiring", "analytics.review",
               "parts.purchase_order"}  # the last goes to a supplier's address; its language is checked as a staff one
LATIN_WORD = re.compile(r"[A-Za-z]{2,}")
URL = re.compile(r"https?://\S+|/\S*/")


@pytest.fixture(autouse=True)
def _sms_replies_reach_us(settings: Any) -> None:
    settings.MESSAGING_INBOUND_SECRET = "s3cret-inbound"  # so marketing SMS may promise "reply TD"


def _values(kind: str, language: str) -> dict[str, Any]:
    """Sample values in the recipient's language: Chinese samples (some ending their sentence with "。") for a
    Chinese recipient, plain English ones for an English one."""
    out: dict[str, Any] = {}
    for name, value in KINDS[kind].variables.items():
        if name == "link":
            out[name] = "https://example.invalid/x/1"
        elif language == "en":
            out[name] = "Sample." if name in ("details", "offer", "resolution", "reason") else "Sample"
        else:
            out[name] = f"{value}。" if name in ("details", "offer", "resolution", "reason") else value
    return out


def _leftover(text: str, variables: dict[str, Any]) -> str:
    """The text without its variables' values and links: what the template and the product wrote."""
    for value in sorted((str(v) for v in variables.values()), key=len, reverse=True):
        if value:
            text = text.replace(value.rstrip("。."), " ")
    return URL.sub(" ", text)


@pytest.fixture
def store() -> Any:
    return StoreFactory(name="广州天河店 / Guangzhou Tianhe", phone="020-38888888")


@pytest.mark.parametrize("request_language", ["zh-hans", "en"])
@pytest.mark.parametrize("recipient_language", ["zh-hans", "en"])
@pytest.mark.parametrize("kind", sorted(KINDS))
def test_every_kind_in_the_recipients_language(kind: str, recipient_language: str, request_language: str, store: Any) -> None:
    english = recipient_language == "en"
    if kind in STAFF_KINDS:
        user = make_staff("service_advisor", store, language=recipient_language)
        customer = None
        base = {"customer_name": "Wei Liang" if english else "梁伟", "greeting": "x", "store_name": "x", "store_phone": "x"}
    else:
        user = None
        customer = CustomerFactory(name="Wei Liang" if english else "梁伟", title="mr", language=recipient_language)
        with override("en" if not english else "zh-hans"):  # whatever language the caller happens to be in
            base = customer_variables(customer=customer, store=store)
    variables = {**_values(kind, recipient_language), **base}
    channel = Channel.APP if customer is None else Channel.SMS
    with override(request_language):
        message = message_enqueue(
            kind=kind, store=store, customer=customer, staff_user=user, channel=channel, variables=variables,
            dedup_key=f"lang:{kind}:{recipient_language}:{request_language}",
        )
    assert message.language == recipient_language
    with override(recipient_language):
        assert message.subject == str(default_subject(KINDS[kind]))
    assert "。。" not in message.body and ".." not in message.body.replace("...", "")
    rest = _leftover(message.body, variables)
    if english:
        assert not has_cjk(message.subject), message.subject
        assert not has_cjk(message.body), message.body
        if customer is not None:
            assert "Mr Liang" in message.body or base["greeting"] == "Mr Liang"
            assert base["store_name"] == "Guangzhou Tianhe"
    else:
        assert has_cjk(message.subject), message.subject
        assert not [w for w in LATIN_WORD.findall(rest) if w != "TD"], message.body
        if customer is not None:
            assert base["greeting"] == "梁先生"
            assert "Mr" not in message.body
            assert base["store_name"] == "广州天河店"
    if KINDS[kind].purpose == Purpose.MARKETING:
        assert ("回复TD退订" in message.body) != english
        assert ("Reply TD to unsubscribe" in message.body) == english


def test_lazy_variables_come_out_in_the_recipients_language(store: Any) -> None:
    """A caller may pass translatable text (gettext_lazy) and the outbox renders it in the recipient's language."""
    zh = make_staff("service_advisor", store, language="zh-hans")
    en = make_staff("service_advisor", store, language="en")
    with override("en"):
        for user in (zh, en):
            message = message_enqueue(
                kind="staff.task", store=store, staff_user=user, channel=Channel.APP, dedup_key=f"lazy:{user.pk}",
                variables={"title": gettext_lazy("Customer"), "details": gettext_lazy("Store")},
            )
            message.refresh_from_db()
            assert message.variables["title"] == ("Customer" if user is en else "客户")
            assert ("客户" in message.body) == (user is zh)


def test_localized_name() -> None:
    assert localized_name("广州天河店 / Guangzhou Tianhe", "zh-hans") == "广州天河店"
    assert localized_name("广州天河店 / Guangzhou Tianhe", "en") == "Guangzhou Tianhe"
    assert localized_name("Shenzhen Futian / 深圳福田店", "zh-hans") == "深圳福田店"
    assert localized_name("深圳福田店", "en") == "深圳福田店"
    assert localized_name("A / B", "en") == "A / B"


def test_tidy_doubled_punctuation() -> None:
    assert tidy("已采纳。。下月起") == "已采纳。下月起"
    assert tidy("好的！。") == "好的！"
    assert tidy("Done.. Next") == "Done. Next"
    assert tidy("Wait... then") == "Wait... then"
    assert tidy("see example.invalid/x") == "see example.invalid/x"


@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_a_customers_subject_is_worded_for_the_customer_not_by_the_staff_name_of_the_kind(language: str, store: Any) -> None:
    """"Offer / campaign" is how staff file the kind; the customer's e-mail says "An offer for you" (为您准备的优惠)."""
    customer = CustomerFactory(name="梁伟", title="mr", language=language)
    with override("en" if language == "zh-hans" else "zh-hans"):
        base = customer_variables(customer=customer, store=store)
    message = message_enqueue(
        kind="campaign.offer", store=store, customer=customer, channel=Channel.SMS,
        variables={**_values("campaign.offer", language), **base}, dedup_key=f"subject:{language}",
    )
    with override(language):
        staff_label = str(KINDS["campaign.offer"].label)
    assert message.subject != staff_label
    assert message.subject == ("An offer for you" if language == "en" else "为您准备的专属优惠")
    customer_kinds = [k for k in KINDS if k not in STAFF_KINDS and k not in ("care.call", "telematics.call")]  # call tasks
    assert set(customer_kinds) <= set(SUBJECTS), sorted(set(customer_kinds) - set(SUBJECTS))
    with override(language):
        for kind in customer_kinds:
            subject = str(default_subject(KINDS[kind]))
            assert subject != str(KINDS[kind].label), kind
            assert has_cjk(subject) == (language == "zh-hans"), (kind, subject)


@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_shop_messages_name_the_next_step_in_the_owners_language(language: str, store: Any) -> None:
    """The app shop's kinds (shop.ready / shop.cancelled / shop.expired) are among KINDS above; the ready message's
    next step is a lazy text from portal/shop.py and comes out in the owner's language, whatever the staff's."""
    from aftersales.portal.shop import READY_STEP

    customer = CustomerFactory(name="梁伟", title="mr", language=language)
    with override("en" if language == "zh-hans" else "zh-hans"):
        message = message_enqueue(
            kind="shop.ready", store=store, customer=customer, channel=Channel.SMS, dedup_key=f"shop-step:{language}",
            variables={**customer_variables(customer=customer, store=store), "number": "A2612070001",
                       "next_step": READY_STEP["pickup"], "link": "https://example.invalid/app/shop/orders/1/"},
        )
    assert ("请到店领取" in message.body) == (language == "zh-hans")
    assert ("collect them at the store" in message.body) == (language == "en")
    assert {"shop.ready", "shop.cancelled", "shop.expired"} <= set(KINDS)
