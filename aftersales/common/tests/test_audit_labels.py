"""The audit trail names what changed in the reader's words, never as the raw key the service wrote."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from django.utils.translation import override

from aftersales.common.templatetags.aftersales import audit_changes


def test_parts_issued_to_a_job_read_as_words_in_both_languages() -> None:
    event = SimpleNamespace(content_type_id=None, changes={"job 1 90430-12031": [None, "1.00"],
                                                            "job 2 OIL-0W20 billed": ["4.00", "3.00"]})
    with override("zh-hans"):
        names = [name for name, _b, _a in audit_changes(event)]
    assert names == ["维修项目 1 配件 90430-12031", "维修项目 2 配件 OIL-0W20 计费数量"]
    with override("en"):
        names = [name for name, _b, _a in audit_changes(event)]
    assert names == ["Job 1, part 90430-12031", "Job 2, part OIL-0W20 billed"]


@pytest.mark.django_db
def test_the_audit_trail_names_the_record_not_its_id() -> None:
    from django.contrib.contenttypes.models import ContentType

    from aftersales.common.templatetags.aftersales import audit_action
    from aftersales.workshop.models import RepairOrder

    order_type = ContentType.objects.get_for_model(RepairOrder)
    event = SimpleNamespace(content_type_id=order_type.pk, action="repair_order.delivery_recorded", object_id="42",
                            object_repr="RO-GZ-2612-0042")
    with override("zh-hans"):
        assert audit_action(event) == "工单 RO-GZ-2612-0042：登记交车"
    with override("en"):
        assert audit_action(event) == "Repair order RO-GZ-2612-0042: delivery recorded"
    ids_only = SimpleNamespace(content_type_id=order_type.pk, action="repair_order.updated", object_id="42", object_repr="5@1")
    with override("en"):
        assert audit_action(ids_only) == "Repair order: changed"


def test_a_lines_kept_old_part_is_named_in_the_readers_language():
    """The workshop records "line N keep old part" as the key of the change: the audit trail names it in words."""
    from django.utils import translation

    from aftersales.common.templatetags.aftersales import _audit_field_name

    with translation.override("zh-hans"):
        assert _audit_field_name("line 4254 keep old part") == "第 4254 行：旧件交还客户"
    with translation.override("en"):
        assert _audit_field_name("line 4254 keep old part") == "Line 4254: old part kept for the customer"
