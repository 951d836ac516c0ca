import pytest
from django.db import transaction

from aftersales.customers.services import customer_create
from aftersales.messaging.choices import MessageStatus
from aftersales.messaging.dispatch import dispatch_due
from aftersales.messaging.models import Message
from aftersales.messaging.services import customer_variables, message_enqueue


@pytest.mark.django_db(transaction=True)
def test_enqueue_then_dispatch_console(world, settings, tmp_path):
    settings.DATA_DIR = tmp_path
    c = customer_create(actor=world.advisor, store=world.a, name="张伟", mobile="13812345678", title="mr")
    with transaction.atomic():
        m = message_enqueue(kind="customer.welcome", store=world.a, customer=c, variables=customer_variables(customer=c, store=world.a), dedup_key="w1")
    assert m.status == MessageStatus.PENDING and "张先生" in m.body
    again = message_enqueue(kind="customer.welcome", store=world.a, customer=c, variables={}, dedup_key="w1")
    assert again.pk == m.pk
    mk = message_enqueue(kind="campaign.offer", store=world.a, customer=c, variables={
        **customer_variables(customer=c, store=world.a), "offer": "o", "link": "l"},
        dedup_key="c1")
    assert mk.status == MessageStatus.SUPPRESSED
    totals = dispatch_due()
    m.refresh_from_db()
    assert m.status == MessageStatus.SENT, (totals, m.last_error)
    assert (tmp_path / "outbox" / "console.jsonl").read_text().count(f'"id": {m.pk},') == 1
    assert Message.objects.count() == 2
