"""Inspections and quality control through their services: thresholds, items, proposed jobs, the report message,
photos, the three checks with rework, cleaning and the order becoming ready."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from django.utils.translation import override
from hypothesis import given
from hypothesis import strategies as st

from aftersales.common.errors import Conflict, Forbidden, IllegalTransition, ValidationFailed
from aftersales.common.models import AuditEvent
from aftersales.common.names import job_title
from aftersales.inspections import selectors, services
from aftersales.inspections.choices import ChecklistPurpose, InspectionStatus, QcResult, Rating
from aftersales.inspections.models import Checklist, Inspection, InspectionItem, InspectionPhoto, QcCheck, Rework
from aftersales.inspections.photos import tiny_png
from aftersales.inspections.thresholds import colour
from aftersales.messaging.models import Message
from aftersales.workshop.choices import JobStatus, OrderStatus
from aftersales.workshop.models import RepairJob, RepairJobEvent, RepairOrderEvent

from .conftest import check_in, finish_work, redo

pytestmark = pytest.mark.django_db

TREAD = {"red_below": Decimal("1.6"), "yellow_below": Decimal("3"), "yellow_above": None, "red_above": None}
PRESSURE = {"red_below": Decimal("1.8"), "yellow_below": Decimal("2.1"), "yellow_above": Decimal("2.7"), "red_above": Decimal("3.2")}


@pytest.mark.parametrize(("value", "expected"), [
    ("0.5", "red"), ("1.59", "red"), ("1.6", "yellow"), ("2.99", "yellow"), ("3", "green"), ("8", "green"),
])
def test_tread_depth_colours(value, expected):
    assert colour(Decimal(value), TREAD) == expected


@pytest.mark.parametrize(("value", "expected"), [
    ("1.7", "red"), ("1.8", "yellow"), ("2.0", "yellow"), ("2.1", "green"), ("2.7", "green"), ("2.8", "yellow"),
    ("3.2", "yellow"), ("3.3", "red"),
])
def test_pressure_colours_both_ways(value, expected):
    assert colour(Decimal(value), PRESSURE) == expected


@given(st.decimals(min_value=-100, max_value=100, places=2, allow_nan=False, allow_infinity=False))
def test_colour_is_monotonic_in_badness(value):
    """Lower tread is never better than higher tread."""
    rank = {"green": 0, "yellow": 1, "red": 2}
    assert rank[colour(value, TREAD)] >= rank[colour(value + Decimal("0.01"), TREAD)]


def start(shop, **kwargs):
    return services.inspection_start(actor=kwargs.pop("actor", shop.advisor), order=shop.order, **kwargs)


def item_named(inspection, name_en):
    return InspectionItem.objects.get(inspection=inspection, name_en=name_en)


def rate_all(shop, inspection, rating="green"):
    for item in InspectionItem.objects.filter(inspection=inspection, rating=""):
        services.inspection_item_record(actor=shop.technician, item=item, rating=rating)


# ---- start ------------------------------------------------------------------------------------------------------
def test_start_copies_the_checklist_and_moves_the_order(shop):
    inspection = start(shop, technician=shop.technician)
    shop.order.refresh_from_db()
    assert shop.order.status == OrderStatus.INSPECTING
    assert RepairOrderEvent.objects.filter(order=shop.order, to_state="inspecting", actor=shop.advisor).exists()
    general = Checklist.objects.get(store=shop.store, code="general")
    assert inspection.checklist == general and inspection.symptoms == "刹车时有异响" and inspection.mileage == 23000
    assert inspection.items.count() == general.items.count() > 20
    tread = item_named(inspection, "Tread depth, front left")
    assert (tread.unit, tread.red_below, tread.yellow_below, tread.group_en) == ("mm", Decimal("1.60"), Decimal("3.00"), "Tyres")
    # editing the checklist later does not touch the inspection's copy
    general.items.filter(name_en="Tread depth, front left").update(name_zh="改过", red_below=2)
    tread.refresh_from_db()
    assert tread.name_zh == "左前轮胎花纹深度" and tread.red_below == Decimal("1.60")


def test_start_picks_the_ev_checklist_for_an_electric_car(shop, world):
    order = check_in(world, world.a, world.advisor, fuel="ev")
    inspection = services.inspection_start(actor=shop.advisor, order=order)
    assert inspection.checklist.code == "ev-check"


def test_start_twice_or_late_or_by_a_technician_is_refused(shop):
    with pytest.raises(Forbidden):
        start(shop, actor=shop.technician)
    start(shop)
    with pytest.raises(Conflict) as exc:
        start(shop)
    assert exc.value.code == "inspection_exists"
    with pytest.raises(Forbidden):
        services.inspection_start(actor=shop.world.advisor_b, order=shop.order)


def test_other_stores_checklist_is_refused(shop):
    other = Checklist.objects.get(store=shop.world.b, code="general")
    with pytest.raises(ValidationFailed) as exc:
        start(shop, checklist=other)
    assert exc.value.field == "checklist"
    assert not Inspection.objects.exists()


# ---- items ------------------------------------------------------------------------------------------------------
def test_measurement_is_coloured_and_override_needs_a_note(shop):
    inspection = start(shop)
    tread = item_named(inspection, "Tread depth, front left")
    item = services.inspection_item_record(actor=shop.technician, item=tread, value="1.4", notes="内侧偏磨")
    assert (item.rating, item.auto_rating, item.value) == (Rating.RED, Rating.RED, Decimal("1.40"))
    item = services.inspection_item_record(actor=shop.technician, item=tread, value="2.5")
    assert item.rating == Rating.YELLOW
    with pytest.raises(ValidationFailed) as exc:
        services.inspection_item_record(actor=shop.technician, item=tread, rating=Rating.GREEN)
    assert (exc.value.code, exc.value.field) == ("override_note_required", "override_note")
    tread.refresh_from_db()
    assert tread.rating == Rating.YELLOW
    item = services.inspection_item_record(actor=shop.technician, item=tread, rating=Rating.RED, override_note="胎侧鼓包")
    assert item.rating == Rating.RED and item.auto_rating == Rating.YELLOW and item.overridden
    assert item.checked_by == shop.technician
    with pytest.raises(ValidationFailed) as exc:
        services.inspection_item_record(actor=shop.technician, item=tread, value="1,2.3")
    assert exc.value.field == "value"
    check_item = item_named(inspection, "Brake disc wear")
    with pytest.raises(ValidationFailed):
        services.inspection_item_record(actor=shop.technician, item=check_item, value="3")
    with pytest.raises(ValidationFailed):
        services.inspection_item_record(actor=shop.technician, item=check_item, rating="purple")


def test_only_the_fillers_may_record_and_only_at_their_store(shop):
    inspection = start(shop)
    item = inspection.items.first()
    for actor in (shop.cashier, shop.qc, shop.world.advisor_b):
        with pytest.raises(Forbidden):
            services.inspection_item_record(actor=actor, item=item, rating=Rating.GREEN)
    item.refresh_from_db()
    assert item.rating == ""


def test_complete_needs_every_item_then_reopen(shop):
    inspection = start(shop)
    first = inspection.items.order_by("seq").first()
    with pytest.raises(ValidationFailed) as exc:
        services.inspection_complete(actor=shop.technician, inspection=inspection)
    assert exc.value.code == "items_unrated" and exc.value.field == f"items[{first.seq}].rating"
    rate_all(shop, inspection)
    done = services.inspection_complete(actor=shop.technician, inspection=inspection)
    assert done.status == InspectionStatus.COMPLETED and done.revision == 1 and done.completed_at
    with pytest.raises(Conflict):
        services.inspection_item_record(actor=shop.technician, item=first, rating=Rating.RED)
    with pytest.raises(ValidationFailed):
        services.inspection_reopen(actor=shop.technician, inspection=done, reason=" ")
    services.inspection_reopen(actor=shop.technician, inspection=done, reason="补拍照片")
    services.inspection_item_record(actor=shop.technician, item=first, rating=Rating.YELLOW, notes="…")
    again = services.inspection_complete(actor=shop.technician, inspection=done)
    assert again.revision == 2
    assert [e.to_state for e in again.events.all()] == ["in_progress", "completed", "in_progress", "completed"]
    with pytest.raises(Conflict):
        services.inspection_complete(actor=shop.technician, inspection=again)
    with pytest.raises(IllegalTransition):
        services.inspection_cancel(actor=shop.advisor, inspection=again, reason="客户取消")


def test_diagnosis_is_saved(shop):
    inspection = start(shop)
    services.inspection_diagnosis_save(
        actor=shop.technician, inspection=inspection, findings="前刹车片 2 mm", likely_causes="刹车片磨损",
        recommended_work="更换前刹车片",
    )
    inspection.refresh_from_db()
    assert inspection.findings == "前刹车片 2 mm" and inspection.symptoms == "刹车时有异响"
    with pytest.raises(ValidationFailed) as exc:
        services.inspection_diagnosis_save(actor=shop.technician, inspection=inspection, findings="x" * 4001)
    assert exc.value.field == "findings"


# ---- proposed jobs ----------------------------------------------------------------------------------------------
def test_red_and_yellow_items_become_proposed_jobs_once(shop):
    inspection = start(shop)
    tread = item_named(inspection, "Tread depth, front left")
    pads = item_named(inspection, "Front brake pad thickness")
    wipers = item_named(inspection, "Wiper blades and washers")
    services.inspection_item_record(actor=shop.technician, item=tread, value="2.5")
    services.inspection_item_record(actor=shop.technician, item=pads, value="2", notes="接近极限")
    services.inspection_item_record(actor=shop.technician, item=wipers, rating=Rating.GREEN)
    jobs = services.inspection_propose_jobs(actor=shop.advisor, inspection=inspection)
    assert [j.title for j in jobs] == [  # red first; in both languages, each reader reads their own (issue 16)
        "前刹车片厚度 (2 mm) / Front brake pad thickness (2 mm)", "左前轮胎花纹深度 (2.5 mm) / Tread depth, front left (2.5 mm)"]
    with override("en"):
        assert job_title(jobs[0]) == "Front brake pad thickness (2 mm)"
    with override("zh-hans"):
        assert job_title(jobs[0]) == "前刹车片厚度 (2 mm)"
    assert all(j.status == JobStatus.PROPOSED and j.order_id == shop.order.pk for j in jobs)
    assert jobs[0].cause == "紧急; 接近极限"
    pads.refresh_from_db()
    tread.refresh_from_db()
    assert pads.job == jobs[0] and tread.job == jobs[1]
    with pytest.raises(Conflict) as exc:
        services.inspection_propose_jobs(actor=shop.advisor, inspection=inspection)
    assert exc.value.code == "nothing_to_propose"
    assert RepairJob.objects.filter(order=shop.order).count() == 2
    with pytest.raises(Forbidden):
        services.inspection_propose_jobs(actor=shop.technician, inspection=inspection)


def test_english_customer_gets_english_job_titles(shop, world):
    order = check_in(world, world.a, world.advisor, language="en")
    inspection = services.inspection_start(actor=shop.advisor, order=order)
    services.inspection_item_record(actor=shop.technician, item=item_named(inspection, "Battery voltage (at rest)"), value="11.8")
    [job] = services.inspection_propose_jobs(actor=shop.advisor, inspection=inspection)
    assert job.title == "蓄电池电压（静态） (11.8 V) / Battery voltage (at rest) (11.8 V)" and job.cause == "Urgent"
    with override("en"):
        assert job_title(job) == "Battery voltage (at rest) (11.8 V)"


# ---- report -----------------------------------------------------------------------------------------------------
def test_report_is_sent_once_per_revision_through_the_outbox(shop):
    inspection = start(shop)
    with pytest.raises(Conflict):
        services.inspection_report_send(actor=shop.advisor, inspection=inspection)
    services.inspection_item_record(actor=shop.technician, item=item_named(inspection, "Front brake pad thickness"), value="2")
    rate_all(shop, inspection)
    services.inspection_complete(actor=shop.technician, inspection=inspection)
    message = services.inspection_report_send(actor=shop.advisor, inspection=inspection)
    again = services.inspection_report_send(actor=shop.advisor, inspection=inspection)
    assert message.pk == again.pk and Message.objects.filter(kind="inspection.report").count() == 1
    assert message.customer == shop.order.customer and message.variables["red"] == "1"
    assert "/inspections/r/" in message.body and "粤A12345" in message.body
    inspection.refresh_from_db()
    assert inspection.report_sent_at and inspection.report_is_current and inspection.report_sent_by == shop.advisor
    services.inspection_reopen(actor=shop.technician, inspection=inspection, reason="补充")
    services.inspection_complete(actor=shop.technician, inspection=inspection)
    inspection.refresh_from_db()
    assert not inspection.report_is_current
    services.inspection_report_send(actor=shop.advisor, inspection=inspection)
    assert Message.objects.filter(kind="inspection.report").count() == 2
    with pytest.raises(Forbidden):
        services.inspection_report_send(actor=shop.technician, inspection=inspection)


def test_report_coverage_share_per_store(shop, world):
    now = timezone.now()
    first = start(shop)
    rate_all(shop, first)
    services.inspection_complete(actor=shop.technician, inspection=first)
    services.inspection_report_send(actor=shop.advisor, inspection=first)
    second_order = check_in(world, world.a, world.advisor)
    second = services.inspection_start(actor=shop.advisor, order=second_order)
    rate_all(shop, second)
    services.inspection_complete(actor=shop.technician, inspection=second)
    rows = selectors.report_coverage(shop.manager, start=now - dt.timedelta(hours=1), end=now + dt.timedelta(hours=1))
    assert rows == [{"store_id": world.a.pk, "store_name": world.a.name, "completed": 2, "reported": 1, "share": Decimal("50.0")}]
    assert selectors.report_coverage(world.manager_b, start=now - dt.timedelta(hours=1), end=now + dt.timedelta(hours=1)) == []
    assert selectors.report_coverage(shop.manager, start=now + dt.timedelta(hours=1), end=now + dt.timedelta(hours=2)) == []


# ---- photos -----------------------------------------------------------------------------------------------------
def test_photo_is_stored_and_bad_files_are_refused(shop, settings):
    inspection = start(shop)
    item = item_named(inspection, "Front brake pad thickness")
    photo = services.inspection_photo_add(actor=shop.technician, item=item, upload=SimpleUploadedFile("p.png", tiny_png()))
    assert (photo.content_type, photo.width, photo.height) == ("image/png", 64, 48)
    assert photo.file.name.startswith(f"inspections/{shop.store.pk}/") and photo.file.storage.exists(photo.file.name)
    with pytest.raises(ValidationFailed) as exc:
        services.inspection_photo_add(actor=shop.technician, item=item, upload=SimpleUploadedFile("x.png", b"%PDF-1.4 not an image"))
    assert (exc.value.code, exc.value.field) == ("not_an_image", "photo")
    truncated = tiny_png()[:60]
    with pytest.raises(ValidationFailed) as exc:
        services.inspection_photo_add(actor=shop.technician, item=item, upload=SimpleUploadedFile("t.png", truncated))
    assert exc.value.code == "not_an_image"
    settings.INSPECTIONS_PHOTO_MAX_BYTES = 100
    with pytest.raises(ValidationFailed) as exc:
        services.inspection_photo_add(actor=shop.technician, item=item, upload=SimpleUploadedFile("p.png", tiny_png()))
    assert exc.value.code == "file_too_large"
    assert InspectionPhoto.objects.count() == 1
    services.inspection_photo_remove(actor=shop.technician, photo=photo)
    assert not InspectionPhoto.objects.exists()


# ---- quality control --------------------------------------------------------------------------------------------
def answers(store, kind, fail=None, note="", skip_optional=False):
    checklist = services.qc_checklist(store.pk, kind)
    rows = []
    for item in checklist.items.order_by("group__seq", "seq"):
        result = QcResult.PASS
        if fail and item.name_en == fail:
            result = QcResult.FAIL
        elif skip_optional and item.optional:
            result = QcResult.NOT_APPLICABLE
        rows.append({"item_id": item.pk, "result": result, "note": note if result == QcResult.FAIL else ""})
    return rows


def sign(shop, actor, kind, order=None, **kwargs):
    order = order or shop.order
    return services.qc_sign(actor=actor, order=order, kind=kind, results=answers(shop.store, kind, **kwargs))


@pytest.fixture
def worked(shop):
    return finish_work(shop, shop.order)


def test_checks_pass_in_order_and_the_order_is_ready_after_cleaning(shop, worked):
    with pytest.raises(Conflict) as exc:
        sign(shop, shop.foreman, "peer")
    assert exc.value.code == "previous_check_missing"
    sign(shop, shop.technician, "self")
    with pytest.raises(Conflict) as exc:
        sign(shop, shop.technician, "self")
    assert exc.value.code == "already_passed"
    with pytest.raises(Conflict) as exc:  # the self-checker cannot be the peer
        sign(shop, shop.technician, "peer")
    assert exc.value.code == "same_signer"
    sign(shop, shop.tech2, "peer")
    services.qc_final_start(actor=shop.qc, order=shop.order)
    shop.order.refresh_from_db()
    assert shop.order.status == OrderStatus.QUALITY_CHECK
    final = sign(shop, shop.qc, "final", skip_optional=True)
    assert final.result == QcResult.PASS and final.items.filter(result="na").count() == 1
    assert set(RepairJob.objects.filter(order=shop.order).values_list("status", flat=True)) == {JobStatus.PASSED_QC}
    shop.order.refresh_from_db()
    assert shop.order.status == OrderStatus.QUALITY_CHECK  # cleaning still to do
    sign(shop, shop.advisor, "cleaning")
    shop.order.refresh_from_db()
    assert shop.order.status == OrderStatus.READY
    assert selectors.qc_state(shop.order).everything_passed
    figures = selectors.qc_figures(shop.manager, start=timezone.now() - dt.timedelta(hours=1), end=timezone.now() + dt.timedelta(hours=1))
    assert (figures["orders_passed"], figures["first_time"], figures["first_time_fix_rate"], figures["reworks"]) == (1, 1, Decimal("100.0"), 0)


def test_failed_final_qc_sends_jobs_back_as_rework_and_counts_it(shop, worked):
    sign(shop, shop.advisor, "cleaning")  # cleaning first this time
    sign(shop, shop.technician, "self")
    sign(shop, shop.foreman, "peer")
    with pytest.raises(ValidationFailed) as exc:  # a failure needs a note
        sign(shop, shop.qc, "final", fail="Repaired systems work as intended")
    assert exc.value.code == "fail_note_required" and exc.value.field.endswith(".note")
    with pytest.raises(ValidationFailed) as exc:  # the road test may be skipped, the others not
        services.qc_sign(actor=shop.qc, order=shop.order, kind="final", results=[
            {**r, "result": "na"} for r in answers(shop.store, "final")])
    assert exc.value.code == "item_required"
    brake, alignment = worked
    check = services.qc_sign(
        actor=shop.qc, order=shop.order, kind="final",
        results=answers(shop.store, "final", fail="Repaired systems work as intended", note="刹车仍有异响"),
        rework_job_ids=[brake.pk],
    )
    assert check.result == QcResult.FAIL and check.cycle == 1
    brake.refresh_from_db()
    alignment.refresh_from_db()
    assert brake.status == JobStatus.REWORK and alignment.status == JobStatus.DONE
    assert RepairJobEvent.objects.filter(job=brake, to_state="rework", reason__contains="刹车仍有异响").exists()
    shop.order.refresh_from_db()
    assert shop.order.status == OrderStatus.IN_PROGRESS  # went to quality check, then back
    rework = Rework.objects.get()
    assert (rework.job, rework.technician, rework.qc_check) == (brake, shop.technician, check)
    state = selectors.qc_state(shop.order)
    assert state.cycle == 2 and state.next_check == "self" and state.reworks == 1
    with pytest.raises(Conflict) as exc:  # the reworked job is not done yet
        sign(shop, shop.technician, "self")
    assert exc.value.code == "jobs_not_done"
    redo(shop, brake)
    sign(shop, shop.technician, "self")
    sign(shop, shop.foreman, "peer")
    sign(shop, shop.qc, "final")
    shop.order.refresh_from_db()
    assert shop.order.status == OrderStatus.READY
    figures = selectors.qc_figures(shop.manager, start=timezone.now() - dt.timedelta(hours=1), end=timezone.now() + dt.timedelta(hours=1))
    assert (figures["orders_passed"], figures["first_time"], figures["first_time_fix_rate"]) == (1, 0, Decimal("0.0"))
    assert figures["reworks"] == 1 and figures["by_technician"][0]["technician_id"] == shop.technician.pk
    assert figures["by_order"] == [{"order_id": shop.order.pk, "number": shop.order.number, "reworks": 1}]
    assert AuditEvent.objects.filter(action="qc.final.fail").exists()


def test_failed_self_check_reworks_every_done_job(shop, worked):
    check = sign(shop, shop.technician, "self", fail="Fluid levels correct, no leaks", note="机油漏")
    assert check.result == QcResult.FAIL
    assert set(RepairJob.objects.filter(order=shop.order).values_list("status", flat=True)) == {JobStatus.REWORK}
    assert Rework.objects.filter(order=shop.order).count() == 2
    shop.order.refresh_from_db()
    assert shop.order.status == OrderStatus.IN_PROGRESS


def test_who_may_sign_which_check(shop, worked):
    with pytest.raises(Forbidden):
        sign(shop, shop.advisor, "self")
    sign(shop, shop.technician, "self")
    sign(shop, shop.foreman, "peer")
    for actor in (shop.technician, shop.foreman, shop.advisor, shop.manager, shop.world.manager_b):
        with pytest.raises(Forbidden):
            sign(shop, actor, "final")
    with pytest.raises(Forbidden):
        sign(shop, shop.technician, "cleaning")
    assert not QcCheck.objects.filter(kind__in=["final", "cleaning"]).exists()


def test_checks_need_finished_work(shop):
    with pytest.raises(Conflict) as exc:
        sign(shop, shop.technician, "self")
    assert exc.value.code == "order_not_in_work"


def test_every_item_must_be_answered(shop, worked):
    rows = answers(shop.store, "self")[1:]
    with pytest.raises(ValidationFailed) as exc:
        services.qc_sign(actor=shop.technician, order=shop.order, kind="self", results=rows)
    assert exc.value.code == "item_unanswered"
    with pytest.raises(ValidationFailed) as exc:
        services.qc_sign(actor=shop.technician, order=shop.order, kind="self", results=[{"item_id": 999999, "result": "pass"}])
    assert exc.value.code == "item_unknown"
    assert not QcCheck.objects.exists()


# ---- checklists -------------------------------------------------------------------------------------------------
def test_manager_edits_a_checklist(shop):
    checklist = Checklist.objects.get(store=shop.store, code="general")
    data = {
        "code": "general", "name_zh": "综合检测", "name_en": "General check", "purpose": "inspection", "is_default": True,
        "groups": [{"name_zh": "轮胎", "name_en": "Tyres", "items": [
            {"name_zh": "花纹深度", "name_en": "Tread", "kind": "measure", "unit": "mm", "red_below": "1.6", "yellow_below": "3"},
            {"name_zh": "外观", "kind": "check"},
        ]}],
    }
    saved = services.checklist_save(actor=shop.manager, store=shop.store, checklist=checklist, data=data)
    assert [(i.name_zh, i.kind, i.red_below) for i in saved.items.order_by("seq")] == [
        ("花纹深度", "measure", Decimal("1.60")), ("外观", "check", None)]
    assert saved.groups.count() == 1
    bad = {**data, "groups": [{"name_zh": "轮胎", "items": [
        {"name_zh": "花纹深度", "kind": "measure", "unit": "mm", "red_below": "3", "yellow_below": "1.6"}]}]}
    with pytest.raises(ValidationFailed) as exc:
        services.checklist_save(actor=shop.manager, store=shop.store, checklist=checklist, data=bad)
    assert exc.value.field == "groups[1].items[1].yellow_below"
    assert saved.items.count() == 2  # nothing half-saved
    with pytest.raises(ValidationFailed) as exc:
        services.checklist_save(actor=shop.manager, store=shop.store, checklist=checklist, data={
            **data, "groups": [{"name_zh": "x", "items": [{"name_zh": "y", "kind": "measure", "unit": "", "red_below": "1"}]}]})
    assert exc.value.field == "groups[1].items[1].unit"
    with pytest.raises(Forbidden):
        services.checklist_save(actor=shop.advisor, store=shop.store, checklist=checklist, data=data)
    with pytest.raises(Forbidden):
        services.checklist_save(actor=shop.world.manager_b, store=shop.store, checklist=checklist, data=data)
    with pytest.raises(Conflict):
        services.checklist_save(actor=shop.manager, store=shop.store, data={**data, "is_default": False})


def test_defaults_are_installed_once(shop):
    before = Checklist.objects.filter(store=shop.store).count()
    assert services.checklist_install_defaults(actor=shop.manager, store=shop.store) == []
    assert Checklist.objects.filter(store=shop.store).count() == before == 7
    purposes = set(Checklist.objects.filter(store=shop.store).values_list("purpose", flat=True))
    assert purposes == set(ChecklistPurpose.values)
