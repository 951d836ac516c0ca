"""Red and yellow items → proposed jobs priced from the labour guide and the catalogue (issue 14, item 1): each
checklist item maps to an operation code the manager edits (the shipped checklists come mapped); an unmapped item's
job arrives unpriced, is flagged, and the estimate cannot be sent until the advisor prices it."""

from __future__ import annotations

from decimal import Decimal

import pytest

from aftersales.common.errors import ValidationFailed
from aftersales.estimates import selectors as estimate_selectors
from aftersales.estimates import services as estimates
from aftersales.inspections import services
from aftersales.inspections.models import Checklist, ChecklistItem, InspectionItem
from aftersales.parts import catalogue

pytestmark = pytest.mark.django_db


@pytest.fixture
def guide(shop):
    world = shop.world
    pads = catalogue.part_create(
        actor=shop.manager, group=world.group, number="04465-33471", oem_number="04465-33471", name_zh="丰田前刹车片",
        category="brake", unit="set", cost_price="380.00", sale_price="620.00", is_oem=True,
    )
    estimates.labour_rate_set(actor=shop.manager, store=shop.store, job_type="repair", rate="300.00")
    estimates.labour_operation_save(
        actor=shop.manager, group=world.group, code="BRK-F", name_zh="更换前刹车片", standard_hours="1.5",
        parts=[{"part": pads, "quantity": 1}],
    )
    return pads


def item(inspection, name_en):
    return InspectionItem.objects.get(inspection=inspection, name_en=name_en)


def test_mapped_items_arrive_priced_and_unmapped_ones_are_flagged(shop, guide):
    assert ChecklistItem.objects.filter(checklist__store=shop.store, name_zh="前刹车片厚度").exclude(operation_code="BRK-F").count() == 0
    inspection = services.inspection_start(actor=shop.advisor, order=shop.order)
    services.inspection_item_record(actor=shop.technician, item=item(inspection, "Front brake pad thickness"), value="2.5", notes="内侧偏磨")
    services.inspection_item_record(actor=shop.technician, item=item(inspection, "Wiper blades and washers"), rating="yellow")
    brakes, wipers = services.inspection_propose_jobs(actor=shop.advisor, inspection=inspection)
    assert brakes.title == "更换前刹车片" and "前刹车片厚度 (2.5 mm)" in brakes.cause and "内侧偏磨" in brakes.cause
    assert [(ln.kind, ln.amount) for ln in brakes.lines.order_by("id")] == [("labour", Decimal("450.00")), ("part", Decimal("620.00"))]
    assert brakes.lines.get(kind="part").part == guide
    figures = estimate_selectors.estimate_figures(shop.order)
    assert [r.job for r in figures.unpriced] == [wipers]  # no operation mapped: ¥0, flagged
    with pytest.raises(ValidationFailed) as err:
        estimates.estimate_send(actor=shop.advisor, order=shop.order)
    assert err.value.code == "unpriced_jobs" and wipers.title in str(err.value.message)


def test_the_manager_maps_an_item_on_the_checklist_editor(shop, guide, client):
    checklist = Checklist.objects.get(store=shop.store, is_default=True, purpose="inspection")
    client.force_login(shop.manager)
    page = client.get(f"/inspections/checklists/{checklist.pk}/")
    assert page.status_code == 200 and b'value="BRK-F"' in page.content and b'<datalist id="guide-operations">' in page.content
    wiper = checklist.items.get(name_zh="雨刮片与喷水")
    data = {"store": shop.store.pk, "code": checklist.code, "name_zh": checklist.name_zh, "name_en": checklist.name_en,
            "purpose": "inspection", "is_active": "1", "is_default": "1"}
    for g, group in enumerate(checklist.groups.order_by("seq")):
        data.update({f"g{g}-present": "1", f"g{g}-id": str(group.pk), f"g{g}-name_zh": group.name_zh, f"g{g}-name_en": group.name_en})
        for n, it in enumerate(group.items.order_by("seq")):
            p = f"g{g}-i{n}-"
            data.update({p + "present": "1", p + "id": str(it.pk), p + "name_zh": it.name_zh, p + "name_en": it.name_en,
                         p + "kind": it.kind, p + "unit": it.unit, p + "operation_code": it.operation_code,
                         **{p + f: "" if getattr(it, f) is None else str(getattr(it, f)) for f in ("red_below", "yellow_below", "yellow_above", "red_above")}})
            if it.pk == wiper.pk:
                data[p + "operation_code"] = "NO-SUCH-OP"
                wiper_prefix = p
    bad = client.post(f"/inspections/checklists/{checklist.pk}/", data)
    assert bad.status_code == 422 and f'name="{wiper_prefix}operation_code" value="NO-SUCH-OP"'.encode() in bad.content
    wiper.refresh_from_db()
    assert wiper.operation_code == ""
    data[wiper_prefix + "operation_code"] = "brk-f"
    assert client.post(f"/inspections/checklists/{checklist.pk}/", data).status_code == 302
    wiper.refresh_from_db()
    assert wiper.operation_code == "BRK-F"


def test_a_negative_measurement_is_refused_and_nothing_changes(shop):
    """Issue 14 item 6: "−5 mm tread" was accepted."""
    inspection = services.inspection_start(actor=shop.advisor, order=shop.order)
    tread = item(inspection, "Tread depth, front left")
    services.inspection_item_record(actor=shop.technician, item=tread, value="4")
    with pytest.raises(ValidationFailed) as err:
        services.inspection_item_record(actor=shop.technician, item=tread, value="-5")
    assert err.value.code == "negative_measurement" and err.value.field == "value"
    tread.refresh_from_db()
    assert tread.value == Decimal("4.00") and tread.rating == "green"
