"""The deletion queue speaks its reader's language (issue 16 review): an error on an English page is English, whatever
the language of the customer concerned or of the browser's other cookies."""

from __future__ import annotations

import pytest
from django.test import Client

from aftersales.customers.models import Customer
from aftersales.portal.models import DeletionRequest
from aftersales.portal.services import owner_deletion_request

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(("language", "want", "unwanted"), [("en", "Give the reason", "请填写"), ("zh-hans", "告知客户", "Give the reason")])
def test_the_queue_error_reads_in_the_staff_members_language(owners, world, language, want, unwanted):
    zhang = owners.zhang
    Customer.objects.filter(pk=zhang.pk).update(language="en" if language == "zh-hans" else "zh-hans")
    request = owner_deletion_request(customer=Customer.objects.get(pk=zhang.pk), reason="不再用车")
    world.manager.language = language
    world.manager.save(update_fields=["language"])
    manager = Client()
    manager.cookies["django_language"] = "zh-hans" if language == "en" else "en"  # the owner app's cookie, same browser
    manager.force_login(world.manager)
    for reason in (" ", "长" * 501):
        page = manager.post("/privacy/deletions/", {"request": request.pk, "action": "refuse", "refuse_reason": reason})
        assert page.status_code == 422
        html = page.content.decode()
        error = html.split('data-testid="deletion-error">', 1)[1].split("</p>", 1)[0]
        assert f'lang="{language}"' in html[:300], html[:300]
        if reason == " ":
            assert want in error and unwanted not in error, error
        else:
            assert ("500" in error) and (("characters" in error) == (language == "en")), error
    assert DeletionRequest.objects.get(pk=request.pk).status == "requested"


def test_a_message_error_on_refusing_reads_in_the_staff_members_language_not_the_customers(owners, world):
    """The refusal's message is rendered in the Chinese customer's language; when it cannot be (a store's text naming a
    variable the refusal does not have), the error shown on the English page was Chinese. It is English now."""
    from aftersales.messaging.choices import Channel
    from aftersales.messaging.models import MessageTemplate

    zhang = owners.zhang
    Customer.objects.filter(pk=zhang.pk).update(language="zh-hans")
    store = zhang.home_store
    for channel in Channel.values:
        MessageTemplate.objects.create(group=store.group, store=store, kind="portal.deletion_refused", channel=channel,
                                       language="zh-hans", body="{{ greeting }}，{{ plate }} 的申请未能办理：{{ reason }}")
    request = owner_deletion_request(customer=Customer.objects.get(pk=zhang.pk), reason="不再用车")
    world.manager.language = "en"
    world.manager.save(update_fields=["language"])
    manager = Client()
    manager.force_login(world.manager)
    page = manager.post("/privacy/deletions/", {"request": request.pk, "action": "refuse", "refuse_reason": "尚有欠款"})
    assert page.status_code == 422
    error = page.content.decode().split('data-testid="deletion-error">', 1)[1].split("</p>", 1)[0]
    assert "The message needs the variable(s) plate." in error and "缺少" not in error, error
    assert DeletionRequest.objects.get(pk=request.pk).status == "requested"  # nothing written
