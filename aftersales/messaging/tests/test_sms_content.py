"""SMS content (issue 16): billed length shown in the template preview, every kind short, English previews with
English sample values, and the opt-out page in the customer's words and language."""

from __future__ import annotations

import pytest
from django.utils.translation import override

from aftersales.common.tests.factories import CustomerFactory
from aftersales.messaging.kinds import KINDS, SAMPLES_EN, sample_values
from aftersales.messaging.services import message_enqueue, opt_out_token, template_preview
from aftersales.messaging.sms import sms_size

pytestmark = pytest.mark.django_db


def test_sms_size_counts_parts_like_a_carrier() -> None:
    assert (sms_size("a" * 160).parts, sms_size("a" * 161).parts, sms_size("a" * 307).parts) == (1, 2, 3)
    assert sms_size("a" * 161).per_part == 153
    assert (sms_size("好" * 70).parts, sms_size("好" * 71).parts, sms_size("好" * 135).parts) == (1, 2, 3)
    assert sms_size("好" * 71).per_part == 67 and sms_size("好").unicode
    assert sms_size("€" * 80).length == 160 and not sms_size("€").unicode  # extension characters count twice
    assert sms_size("Price ¥100").unicode is False and sms_size("“quoted”").unicode is True


@pytest.mark.parametrize("replies", [True, False], ids=["replies-configured", "no-replies"])
@pytest.mark.parametrize("language", ["zh-hans", "en"])
@pytest.mark.parametrize("kind", sorted(KINDS))
def test_every_default_sms_is_at_most_two_parts(kind: str, language: str, replies: bool, settings) -> None:
    """At most two billed parts where SMS replies reach us ("reply TD" closes a marketing text); without them the
    opt-out link takes the keyword's place and may cost one part more."""
    settings.MESSAGING_INBOUND_SECRET = "s3cret-inbound" if replies else ""
    _subject, body = template_preview(kind=kind, channel="sms", language=language, body=KINDS[kind].default_text[language])
    assert sms_size(body).parts <= (2 if replies else 3), (len(body), body)
    if language == "en":
        chinese = [zh for zh, en in SAMPLES_EN.items() if zh != en and zh in body]
        assert not chinese, body  # English samples for an English text (names and plates stay as written)


def test_preview_shows_length_and_billed_parts(client, world) -> None:
    world.manager.language = "zh-hans"
    world.manager.save(update_fields=["language"])
    client.force_login(world.manager)
    response = client.get("/message-templates/edit/", {"kind": "repair.ready", "channel": "sms", "language": "zh-hans"},
                          HTTP_ACCEPT_LANGUAGE="zh-hans")
    size = sms_size(response.context["preview"]["body"])
    page = response.content.decode()
    assert 'data-testid="sms-size"' in page
    assert f"{size.length} 个字" in page and f"{size.parts} 条短信" in page
    body = "{{ greeting }}，" + "好" * 200
    response = client.post("/message-templates/preview/", {"kind": "repair.ready", "channel": "sms", "language": "zh-hans",
                                                           "body": body}, HTTP_HX_REQUEST="true")
    assert "4 条短信" in response.content.decode() and "请精简" in response.content.decode()
    response = client.get("/message-templates/edit/", {"kind": "repair.ready", "channel": "email", "language": "en"})
    assert response.context["preview"]["subject"] == "Your car is ready for collection"  # the template's language, not the page's
    assert 'data-testid="sms-size"' not in response.content.decode()
    assert "Mr Zhang" in response.context["preview"]["body"]


def test_english_template_editor_lists_english_samples(client, world) -> None:
    client.force_login(world.manager)
    response = client.get("/message-templates/edit/", {"kind": "campaign.offer", "channel": "sms", "language": "en"})
    assert dict(response.context["variables"])["offer"] == sample_values(KINDS["campaign.offer"], "en")["offer"]
    assert "冬季" not in response.context["preview"]["body"]


@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_opt_out_page_in_the_customers_words_and_language(client, world, language) -> None:
    world.a.name = "广州天河店 / Guangzhou Tianhe"
    world.a.save(update_fields=["name"])
    customer = CustomerFactory(home_store=world.a, name="梁伟", title="mr", language=language, preferred_channel="phone")
    with override("en" if language == "zh-hans" else "zh-hans"):
        message = message_enqueue(kind="campaign.offer", store=world.a, customer=customer, channel="phone",
                                  variables={**KINDS["campaign.offer"].variables}, dedup_key=f"o:{language}")
    page = client.get(f"/m/o/{opt_out_token(message.pk)}/").content.decode()
    assert "phone task" not in page.lower() and "Phone-call" not in page and "电话任务" not in page
    if language == "en":
        assert "Guangzhou Tianhe" in page and "广州天河店" not in page and "by phone" in page
    else:
        assert "广州天河店" in page and "Guangzhou Tianhe" not in page and "Unsubscribe" not in page
