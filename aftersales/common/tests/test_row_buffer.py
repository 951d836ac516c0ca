"""Audit and state-event rows written once per table before COMMIT (common/db.py defer_insert, issue 19): the same
rows as before, fewer statements, and nothing lost or seen early."""

from __future__ import annotations

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from aftersales.common import audit
from aftersales.common.db import saved, service_atomic
from aftersales.common.errors import Conflict
from aftersales.common.models import AuditEvent

pytestmark = pytest.mark.django_db


def _inserts(ctx: CaptureQueriesContext) -> int:
    return sum(1 for q in ctx.captured_queries if q["sql"].startswith('INSERT INTO "common_auditevent"'))


def test_rows_of_a_service_block_are_written_with_one_insert_in_order(world):
    with CaptureQueriesContext(connection) as ctx, service_atomic():
        for n in range(3):
            event = audit.record(actor=world.advisor, obj=world.a, action=f"store.step{n}", store_id=world.a.pk)
        assert event.pk is None  # not yet written
        with service_atomic():  # a nested service joins the block and its buffer
            audit.record(actor=world.advisor, obj=world.a, action="store.nested", store_id=world.a.pk)
    assert _inserts(ctx) == 1
    rows = list(AuditEvent.objects.filter(object_id=str(world.a.pk), action__startswith="store.").order_by("id"))
    assert [r.action for r in rows] == ["store.step0", "store.step1", "store.step2", "store.nested"]
    assert all(r.actor_id == world.advisor.pk and r.store_id == world.a.pk for r in rows)


def test_a_read_of_the_table_inside_the_block_sees_the_rows(world):
    with service_atomic():
        audit.record(actor=world.advisor, obj=world.a, action="store.seen", store_id=world.a.pk)
        assert AuditEvent.objects.filter(action="store.seen").count() == 1
        audit.record(actor=world.advisor, obj=world.a, action="store.seen", store_id=world.a.pk)
    assert AuditEvent.objects.filter(action="store.seen").count() == 2


def test_saved_gives_the_row_its_id_at_once(world):
    with service_atomic():
        event = audit.record(actor=world.advisor, obj=world.a, action="store.id")
        assert saved(event).pk is not None
        assert AuditEvent.objects.get(pk=event.pk).action == "store.id"


def test_a_refused_block_writes_none_of_its_rows(world):
    with pytest.raises(Conflict), service_atomic():
        audit.record(actor=world.advisor, obj=world.a, action="store.refused")
        raise Conflict("no", "no", None)
    assert not AuditEvent.objects.filter(action="store.refused").exists()


def test_a_savepoint_rolled_back_inside_the_block_keeps_the_rows_before_it(world):
    with service_atomic():
        audit.record(actor=world.advisor, obj=world.a, action="store.before")
        try:
            with transaction.atomic():  # a caller that catches: a real savepoint
                audit.record(actor=world.advisor, obj=world.a, action="store.inside")
                raise Conflict("no", "no", None)
        except Conflict:
            pass
        audit.record(actor=world.advisor, obj=world.a, action="store.after")
    actions = set(AuditEvent.objects.filter(action__startswith="store.").values_list("action", flat=True))
    assert actions == {"store.before", "store.after"}


def test_outside_a_service_block_a_row_is_written_at_once(world):
    event = audit.record(actor=world.advisor, obj=world.a, action="store.now")
    assert event.pk is not None
    with transaction.atomic():
        assert audit.record(actor=world.advisor, obj=world.a, action="store.now").pk is not None
