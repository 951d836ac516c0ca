"""Estimates and authorization: pricing from the labour guide, draft vs sent, the customer's decision job by job
(link, tablet, phone), aftermarket consent, signed-link expiry and tampering, one decision per link, additional
work, the authorized-total rule and declined recommendations."""

from __future__ import annotations

import re
import time
from decimal import Decimal

import pytest
from django.core import signing
from django.utils.translation import gettext

from aftersales.appointments.models import CannedJob, CannedJobPart, ServiceType
from aftersales.common.errors import Conflict, Forbidden, IllegalTransition, ValidationFailed
from aftersales.estimates import selectors, services
from aftersales.estimates.models import Authorization, Estimate, EstimateEvent, JobOption, WorkPhoto
from aftersales.messaging.models import Message
from aftersales.workshop.models import RepairJob, RepairJobEvent, RepairLine, RepairOrder
from aftersales.workshop.services import (
    repair_job_move,
    repair_order_check_in,
    repair_order_move,
    repair_order_record_visit,
)

from .conftest import approve_all, photo_bytes, signature_data_url, upload

pytestmark = pytest.mark.django_db
SIG = signature_data_url()


def add(world, shop, op=None, choice="oem"):
    return services.estimate_add_operation(actor=world.advisor, order=shop.order, operation=op or shop.brakes, part_choice=choice)


def send(world, shop):
    return services.estimate_send(actor=world.advisor, order=shop.order)


def by_link(estimate, decisions, **kwargs):
    kwargs.setdefault("signer_name", "张伟")
    kwargs.setdefault("signature", SIG)
    return services.authorize_by_link(token=services.approval_token(estimate), decisions=decisions, **kwargs)


def in_progress(world, shop):
    """The brake job approved by link and the work started."""
    (job,) = add(world, shop)
    estimate = send(world, shop)
    by_link(estimate, approve_all([job]))
    repair_order_move(actor=world.advisor, order=shop.order, to="in_progress")
    shop.order.refresh_from_db()
    return job


# ---- pricing ---------------------------------------------------------------------------------------------------------
def test_operation_is_hours_times_rate_plus_parts_and_saved_as_draft(world, shop):
    (job,) = add(world, shop)
    lines = list(job.lines.order_by("id"))
    assert [(ln.kind, ln.quantity, ln.unit_price, ln.amount, ln.is_aftermarket) for ln in lines] == [
        ("labour", Decimal("1.50"), Decimal("300.00"), Decimal("450.00"), False),
        ("part", Decimal("1.00"), Decimal("620.00"), Decimal("620.00"), False),
    ]
    assert lines[1].part_id == shop.pads.pk and lines[1].unit_cost == Decimal("380.00")
    assert (job.status, job.standard_hours, job.required_skill, job.title) == ("proposed", Decimal("1.50"), "maintenance", "更换前刹车片")
    shop.order.refresh_from_db()
    assert shop.order.total == Decimal("1070.00") and shop.order.status == "checked_in"
    estimate = Estimate.objects.get(order=shop.order)
    assert estimate.status == "draft" and estimate.version == 0
    assert not Message.objects.exists()  # a draft is never sent by itself
    figures = selectors.estimate_figures(shop.order)
    assert (figures.labour, figures.parts, figures.total, figures.tax) == (
        Decimal("450.00"), Decimal("620.00"), Decimal("1070.00"), Decimal("123.10"),
    )


def test_aftermarket_choice_uses_the_catalogue_equivalent(world, shop):
    (job,) = add(world, shop, choice="aftermarket")
    part_line = job.lines.get(kind="part")
    assert (part_line.part_id, part_line.unit_price, part_line.is_aftermarket) == (shop.bosch.pk, Decimal("450.00"), True)
    assert selectors.aftermarket_equivalents(shop.pads) == [shop.bosch]
    with pytest.raises(ValidationFailed) as err:
        add(world, shop, op=shop.oil_service, choice="aftermarket")
    assert err.value.code == "no_aftermarket_equivalent" and err.value.field == "part_choice"
    assert RepairJob.objects.filter(order=shop.order).count() == 1


def test_both_makes_an_option_group_counted_with_the_recommended_option(world, shop):
    oem, aftermarket = add(world, shop, choice="both")
    assert JobOption.objects.get(job=oem).group_id == JobOption.objects.get(job=aftermarket).group_id
    figures = selectors.estimate_figures(shop.order)
    assert len(figures.groups) == 1 and [r.total for r in figures.groups[0].choices] == [Decimal("1070.00"), Decimal("900.00")]
    assert figures.total == Decimal("1070.00")


def test_labour_rate_falls_back_to_repair_and_is_required(world, shop):
    from aftersales.common.tests.factories import CustomerFactory, VehicleFactory

    customer = CustomerFactory(home_store=world.b)
    order_b = repair_order_check_in(actor=world.advisor_b, store=world.b, customer=customer, vehicle=VehicleFactory(owner=customer))
    (job,) = services.estimate_add_operation(actor=world.advisor_b, order=order_b, operation=shop.oil_service)
    assert job.lines.get(kind="labour").unit_price == Decimal("280.00")  # no maintenance rate at B: the repair rate
    from aftersales.estimates.models import LabourRate

    LabourRate.objects.filter(store=world.b).delete()
    with pytest.raises(ValidationFailed) as err:
        services.estimate_add_operation(actor=world.advisor_b, order=order_b, operation=shop.oil_service)
    assert err.value.code == "no_labour_rate"
    assert order_b.jobs.count() == 1


def test_canned_job_adds_its_labour_and_parts_in_one_click(world, shop):
    kind = ServiceType.objects.create(store=world.a, code="m5", name_zh="保养", kind="maintenance", duration_minutes=90)
    canned = CannedJob.objects.create(store=world.a, name="5000 公里保养", service_type=kind)
    CannedJobPart.objects.create(canned_job=canned, part=shop.oil, quantity=Decimal("4"))
    job = services.estimate_add_canned_job(actor=world.advisor, order=shop.order, canned_job=canned)
    assert [(ln.kind, ln.quantity, ln.unit_price) for ln in job.lines.order_by("id")] == [
        ("labour", Decimal("1.50"), Decimal("200.00")), ("part", Decimal("4.00"), Decimal("88.00")),
    ]
    assert job.job_type == "maintenance"


def test_labour_guide_is_kept_by_the_manager(world, shop):
    with pytest.raises(Forbidden):
        services.labour_rate_set(actor=world.advisor, store=world.a, job_type="repair", rate="1.00")
    with pytest.raises(ValidationFailed) as err:
        services.labour_operation_save(actor=world.manager, group=world.group, code="X", name_zh="x", standard_hours="0")
    assert err.value.field == "standard_hours"
    op = services.labour_operation_save(actor=world.manager, group=world.group, code="brk-f", name_zh="更换前刹车片（新）", standard_hours="1.8")
    assert op.pk == shop.brakes.pk and op.standard_hours == Decimal("1.80")


# ---- sending ---------------------------------------------------------------------------------------------------------
def test_sending_moves_the_order_and_queues_one_message_with_the_signed_link(world, shop):
    add(world, shop)
    estimate = send(world, shop)
    shop.order.refresh_from_db()
    assert shop.order.status == "estimate_sent"
    assert (estimate.status, estimate.version, estimate.kind) == ("sent", 1, "initial")
    message = Message.objects.get()
    assert message.kind == "estimate.approval" and message.customer_id == shop.customer.pk
    assert "1,070.00" in message.body
    token = re.search(r"/e/([^/\s]+)/", message.body).group(1)
    assert services.estimate_from_token(token) == (estimate, "")
    assert list(EstimateEvent.objects.filter(estimate=estimate).values_list("to_state", flat=True)) == ["draft", "sent"]


def test_sending_twice_sends_once_and_a_change_sends_a_new_version(world, shop):
    add(world, shop)
    first = send(world, shop)
    assert send(world, shop) == first and Estimate.objects.get(pk=first.pk).version == 1
    assert Message.objects.count() == 1
    add(world, shop, op=shop.oil_service)
    second = send(world, shop)
    assert second.pk == first.pk and second.version == 2 and second.jobs.count() == 2
    assert Message.objects.count() == 2


def test_nothing_to_send_and_other_store_refused(world, shop):
    with pytest.raises(ValidationFailed) as err:
        send(world, shop)
    assert err.value.code == "nothing_to_send"
    add(world, shop)
    with pytest.raises(Forbidden):
        services.estimate_send(actor=world.advisor_b, order=shop.order)
    with pytest.raises(Forbidden):
        services.estimate_add_operation(actor=world.advisor_b, order=shop.order, operation=shop.brakes)
    assert not Message.objects.exists()


def test_no_work_without_approval(world, shop):
    (job,) = add(world, shop)
    send(world, shop)
    with pytest.raises(Conflict) as err:
        repair_order_move(actor=world.advisor, order=shop.order, to="authorized")
    assert err.value.code == "nothing_authorized"
    with pytest.raises(IllegalTransition):
        repair_job_move(actor=world.staff["foreman"], job=job, to="dispatched")


# ---- the customer's decision -------------------------------------------------------------------------------------------
def test_link_decision_moves_jobs_and_order_and_keeps_a_snapshot(world, shop):
    (brakes,) = add(world, shop)
    (oil,) = add(world, shop, op=shop.oil_service)
    estimate = send(world, shop)
    auth = by_link(
        estimate, {brakes.pk: {"approve": True}, oil.pk: {"approve": False, "reason": "下次再换"}},
        ip="10.1.2.3", user_agent="Mozilla/5.0 (iPhone)",
    )
    brakes.refresh_from_db()
    oil.refresh_from_db()
    shop.order.refresh_from_db()
    assert (brakes.status, oil.status, oil.declined_reason) == ("authorized", "declined", "下次再换")
    assert shop.order.status == "authorized"
    assert (auth.method, auth.signer_name, auth.ip, auth.user_agent) == ("link", "张伟", "10.1.2.3", "Mozilla/5.0 (iPhone)")
    assert auth.approved_total == Decimal("1070.00") and auth.declined_total == Decimal("452.00")
    assert auth.signature.name.endswith(".png") and auth.signature.read().startswith(b"\x89PNG")
    snap = auth.snapshot
    assert [(j["title"], j["approved"], j["amount"]) for j in snap["jobs"]] == [
        ("更换前刹车片", True, "1070.00"), ("更换机油", False, "452.00"),
    ]
    assert snap["jobs"][0]["lines"][0]["unit_price"] == "300.00" and snap["approved_total"] == "1070.00"
    assert selectors.authorized_total(shop.order) == Decimal("1070.00")
    events = RepairJobEvent.objects.filter(job=brakes, to_state="authorized").get()
    assert events.actor is None and "张伟" in events.reason  # the customer, not a staff member
    assert Estimate.objects.get(pk=estimate.pk).status == "decided"


def test_every_job_needs_an_explicit_decision(world, shop):
    (brakes,) = add(world, shop)
    (oil,) = add(world, shop, op=shop.oil_service)
    estimate = send(world, shop)
    with pytest.raises(ValidationFailed) as err:
        by_link(estimate, {brakes.pk: {"approve": True}})
    assert (err.value.code, err.value.field) == ("decision_required", f"job_{oil.pk}")
    assert not Authorization.objects.exists() and RepairJob.objects.filter(status="proposed").count() == 2


def test_aftermarket_parts_need_an_explicit_tick(world, shop):
    (job,) = add(world, shop, choice="aftermarket")
    estimate = send(world, shop)
    with pytest.raises(ValidationFailed) as err:
        by_link(estimate, {job.pk: {"approve": True, "aftermarket_consent": False}})
    assert (err.value.code, err.value.field) == ("aftermarket_consent_required", f"job_{job.pk}.aftermarket_consent")
    job.refresh_from_db()
    assert job.status == "proposed" and not Authorization.objects.exists()
    auth = by_link(estimate, {job.pk: {"approve": True, "aftermarket_consent": True}})
    item = auth.items.get()
    assert item.has_aftermarket and item.aftermarket_consent and auth.snapshot["jobs"][0]["aftermarket_consent"]


def test_option_group_the_customer_picks_one(world, shop):
    oem, aftermarket = add(world, shop, choice="both")
    estimate = send(world, shop)
    with pytest.raises(ValidationFailed) as err:
        by_link(estimate, approve_all([oem, aftermarket]))
    assert err.value.code == "one_option_only"
    with pytest.raises(ValidationFailed) as err:
        by_link(estimate, {})
    assert err.value.code == "decision_required" and err.value.field.startswith("group_")
    auth = by_link(estimate, {aftermarket.pk: {"approve": True, "aftermarket_consent": True}, oem.pk: {"approve": False}})
    oem.refresh_from_db()
    aftermarket.refresh_from_db()
    assert (oem.status, aftermarket.status) == ("declined", "authorized")
    assert oem.declined_reason == gettext("Another option was chosen")
    assert auth.approved_total == Decimal("900.00")
    assert selectors.declined_recommendations(user=world.advisor, vehicle=shop.vehicle) == []  # not a declined need


def test_signature_is_a_real_non_blank_png(world, shop):
    (job,) = add(world, shop)
    estimate = send(world, shop)
    cases = {
        "": "signature_required",
        signature_data_url(blank=True): "signature_required",
        "data:image/png;base64,!!!notbase64": "signature_invalid",
        "data:image/png;base64," + __import__("base64").b64encode(photo_bytes("JPEG")).decode(): "signature_invalid",
        "data:image/jpeg;base64,AAAA": "signature_required",
    }
    for value, code in cases.items():
        with pytest.raises(ValidationFailed) as err:
            by_link(estimate, approve_all([job]), signature=value)
        assert (err.value.code, err.value.field) == (code, "signature"), value[:40]
    assert not Authorization.objects.exists()


def test_tampered_expired_and_revised_links_are_refused(world, shop, monkeypatch):
    (job,) = add(world, shop)
    estimate = send(world, shop)
    token = services.approval_token(estimate)
    assert services.estimate_from_token(token) == (estimate, "")
    tampered = token[:-2] + ("A" if token[-2] != "A" else "B") + token[-1]
    assert services.estimate_from_token(tampered) == (None, "invalid")
    forged = signing.dumps({"e": estimate.pk, "v": estimate.version}, salt="another purpose", compress=True)
    assert services.estimate_from_token(forged) == (None, "invalid")
    with pytest.raises(ValidationFailed) as err:
        services.authorize_by_link(token=tampered, decisions=approve_all([job]), signer_name="x", signature=SIG)
    assert err.value.code == "link_invalid"
    real = time.time
    with monkeypatch.context() as m:
        m.setattr(time, "time", lambda: real() + (services.APPROVAL_LINK_HOURS + 1) * 3600)
        assert services.estimate_from_token(token) == (None, "expired")
        with pytest.raises(ValidationFailed) as err:
            services.authorize_by_link(token=token, decisions=approve_all([job]), signer_name="x", signature=SIG)
        assert err.value.code == "link_expired"
    services.estimate_withdraw(actor=world.advisor, order=shop.order)
    assert services.estimate_from_token(token)[1] == "revised"
    with pytest.raises(Conflict) as err:
        services.authorize_by_link(token=token, decisions=approve_all([job]), signer_name="x", signature=SIG)
    assert err.value.code == "estimate_revised"
    again = send(world, shop)
    assert again.version == 3 and services.estimate_from_token(services.approval_token(again)) == (again, "")
    assert Message.objects.count() == 2  # one message per version sent
    job.refresh_from_db()
    assert job.status == "proposed" and not Authorization.objects.exists()


def test_one_decision_per_link(world, shop):
    (job,) = add(world, shop)
    estimate = send(world, shop)
    by_link(estimate, approve_all([job]))
    assert services.estimate_from_token(services.approval_token(estimate))[1] == "decided"
    with pytest.raises(Conflict) as err:
        by_link(estimate, {job.pk: {"approve": False}})
    assert err.value.code == "already_decided"
    with pytest.raises(Conflict):
        services.authorize_by_phone(actor=world.advisor, order=shop.order, decisions={}, approver_name="x", said="y")
    assert Authorization.objects.count() == 1


def test_tablet_signature_and_phone_approval_record_who_when_and_what(world, shop):
    import datetime as dt

    from django.utils import timezone

    (job,) = add(world, shop)
    send(world, shop)
    with pytest.raises(ValidationFailed) as err:
        services.authorize_on_tablet(actor=world.advisor, order=shop.order, decisions=approve_all([job]), signer_name="张伟", signature="")
    assert err.value.field == "signature"
    with pytest.raises(ValidationFailed) as err:
        services.authorize_by_phone(actor=world.advisor, order=shop.order, decisions=approve_all([job]), approver_name="张伟", said=" ")
    assert err.value.field == "said"
    with pytest.raises(ValidationFailed) as err:
        services.authorize_by_phone(
            actor=world.advisor, order=shop.order, decisions=approve_all([job]), approver_name="张伟", said="同意",
            approved_at=timezone.now() + dt.timedelta(hours=2),
        )
    assert err.value.field == "approved_at"
    called = timezone.now() - dt.timedelta(minutes=10)
    auth = services.authorize_by_phone(
        actor=world.advisor, order=shop.order, decisions=approve_all([job]), approver_name="张伟（车主）",
        said="客户电话确认更换前刹车片，价格 1070 元", approved_at=called,
    )
    assert (auth.method, auth.recorded_by, auth.approved_at, auth.signature.name) == ("phone", world.advisor, called, "")
    assert RepairJobEvent.objects.get(job=job, to_state="authorized").actor == world.advisor


def test_tablet_signature(world, shop):
    (job,) = add(world, shop)
    send(world, shop)
    auth = services.authorize_on_tablet(actor=world.advisor, order=shop.order, decisions=approve_all([job]), signer_name="张伟", signature=SIG)
    assert auth.method == "tablet" and auth.recorded_by == world.advisor and auth.signature
    with pytest.raises(Forbidden):
        services.authorize_on_tablet(actor=world.advisor_b, order=shop.order, decisions={}, signer_name="x", signature=SIG)


# ---- additional work ---------------------------------------------------------------------------------------------------
def test_additional_work_waits_for_the_customer_and_work_resumes_on_approval(world, shop):
    in_progress(world, shop)
    tech = world.technician
    (extra,) = services.additional_work_propose(
        actor=tech, order=shop.order, title="更换雨刮片", hours="0.3", cause="雨刮片老化开裂", photos=[upload(), upload("b.png", photo_bytes("PNG"), "image/png")],
    )
    shop.order.refresh_from_db()
    assert (extra.status, extra.is_additional, shop.order.status) == ("proposed", True, "waiting_auth")
    assert extra.lines.get().amount == Decimal("90.00")
    assert [p.content_type for p in WorkPhoto.objects.filter(job=extra)] == ["image/jpeg", "image/png"]
    assert RepairJobEvent.objects.get(job=extra, to_state="proposed").actor == tech  # in the technician's name
    task = Message.objects.get(kind="staff.task")
    assert task.staff_user == shop.order.advisor and shop.order.number in task.body
    with pytest.raises(IllegalTransition):
        repair_job_move(actor=world.staff["foreman"], job=extra, to="dispatched")  # no work before approval
    with pytest.raises(Conflict):
        services.assert_within_authorization(order=shop.order, amount=shop.order.total)
    estimate = services.estimate_send(actor=world.advisor, order=shop.order)
    assert estimate.kind == "additional" and list(estimate.jobs.all()) == [extra]
    assert Message.objects.filter(kind="estimate.additional_work").count() == 1
    shop.order.refresh_from_db()
    assert shop.order.status == "waiting_auth"
    by_link(estimate, approve_all([extra]))
    shop.order.refresh_from_db()
    extra.refresh_from_db()
    assert (extra.status, shop.order.status) == ("authorized", "in_progress")
    assert selectors.authorized_total(shop.order) == Decimal("1160.00")
    assert services.assert_within_authorization(order=shop.order, amount=shop.order.total) == Decimal("1160.00")


def test_declined_additional_work_still_lets_the_repair_go_on(world, shop):
    in_progress(world, shop)
    (extra,) = services.additional_work_propose(actor=world.technician, order=shop.order, operation=shop.oil_service, title="", cause="机油乳化", photos=[upload()])
    estimate = services.estimate_send(actor=world.advisor, order=shop.order)
    by_link(estimate, {extra.pk: {"approve": False, "reason": "太贵"}})
    shop.order.refresh_from_db()
    extra.refresh_from_db()
    assert (extra.status, extra.declined_reason, shop.order.status) == ("declined", "太贵", "in_progress")
    assert selectors.authorized_total(shop.order) == Decimal("1070.00")


def test_additional_work_photos_are_checked_and_nothing_is_half_saved(world, shop, monkeypatch):
    in_progress(world, shop)
    jobs_before = RepairJob.objects.count()

    def propose(photos):
        return services.additional_work_propose(actor=world.technician, order=shop.order, title="x", hours="1", cause="y", photos=photos)

    cases = [
        ([], "photos_required"),
        ([upload("notes.txt", b"hello, not an image", "text/plain")], "photo_not_image"),
        ([upload("anim.gif", photo_bytes("GIF"), "image/gif")], "photo_not_image"),
        ([upload(f"{n}.jpg") for n in range(services.PHOTO_MAX_COUNT + 1)], "too_many_photos"),
    ]
    for photos, code in cases:
        with pytest.raises(ValidationFailed) as err:
            propose(photos)
        assert (err.value.code, err.value.field) == (code, "photos")
    monkeypatch.setattr(services, "PHOTO_MAX_BYTES", 100)
    with pytest.raises(ValidationFailed) as err:
        propose([upload("big.jpg", photo_bytes(size=(400, 400)))])
    assert err.value.code == "photo_too_large" and "big.jpg" in str(err.value.message)
    shop.order.refresh_from_db()
    assert RepairJob.objects.count() == jobs_before and shop.order.status == "in_progress" and not WorkPhoto.objects.exists()


def test_additional_work_only_while_in_progress_and_only_for_the_workshop(world, shop):
    add(world, shop)
    with pytest.raises(Conflict) as err:
        services.additional_work_propose(actor=world.technician, order=shop.order, title="x", hours="1", cause="y", photos=[upload()])
    assert err.value.code == "order_not_in_progress"
    with pytest.raises(Forbidden):
        services.additional_work_propose(actor=world.staff["cashier"], order=shop.order, title="x", hours="1", cause="y", photos=[upload()])


# ---- the invoice rule ----------------------------------------------------------------------------------------------
def test_invoice_can_never_exceed_the_authorized_total(world, shop):
    (job,) = add(world, shop)
    by_link(send(world, shop), approve_all([job]))
    assert services.assert_within_authorization(order=shop.order, amount="1070.00") == Decimal("1070.00")
    with pytest.raises(Conflict) as err:
        services.assert_within_authorization(order=shop.order, amount="1070.01")
    assert err.value.code == "above_authorized" and err.value.extra["authorized_total"] == "1070.00"
    # a line added to the approved job afterwards raises the order's figures, not what the customer authorized
    RepairLine.objects.create(order=shop.order, job=job, kind="part", description="刹车油", quantity=1, unit_price=78, amount=78)
    assert selectors.authorized_total(shop.order) == Decimal("1070.00")
    with pytest.raises(Conflict):
        services.assert_within_authorization(order=shop.order, amount="1148.00")
    # a job the customer approved and that is later dropped no longer counts
    repair_job_move(actor=world.advisor, job=job, to="declined", reason="客户取消")
    assert selectors.authorized_total(shop.order) == Decimal("0.00")


def test_orders_without_an_estimate_use_the_workshop_figure(world, shop):
    from django.utils import timezone

    visit = repair_order_record_visit(
        actor=world.advisor, store=world.a, customer=shop.customer, vehicle=shop.vehicle, opened_at=timezone.now(),
        delivered_at=timezone.now(), jobs=[{"title": "保养", "lines": [{"kind": "fee", "description": "x", "unit_price": "99.00"}]}],
    )
    assert selectors.authorized_total(visit) == Decimal("99.00")


# ---- declined recommendations -------------------------------------------------------------------------------------------
def test_declined_recommendations_stay_on_the_vehicle_and_can_be_offered_again(world, shop):
    (brakes,) = add(world, shop)
    (oil,) = add(world, shop, op=shop.oil_service)
    by_link(send(world, shop), {brakes.pk: {"approve": True}, oil.pk: {"approve": False, "reason": "下次保养再做"}})
    (row,) = selectors.declined_recommendations(user=world.advisor, vehicle=shop.vehicle)
    assert (row.job, row.amount, row.reason, row.order) == (oil, Decimal("452.00"), "下次保养再做", shop.order)
    assert row.declined_at is not None
    assert selectors.declined_recommendations(user=world.advisor_b, vehicle=shop.vehicle) == []
    (block,) = selectors.declined_for_customer(user=world.advisor, customer=shop.customer)
    assert block.vehicle == shop.vehicle and [r.job for r in block.rows] == [oil]
    later = repair_order_check_in(actor=world.advisor, store=world.a, customer=shop.customer, vehicle=shop.vehicle)
    (block,) = selectors.declined_for_customer(user=world.advisor, customer=shop.customer)
    assert block.open_orders[0] == later
    new = services.declined_repropose(actor=world.advisor, job=oil, order=later)
    assert new.order == later and new.status == "proposed"
    assert [(ln.description, ln.amount) for ln in new.lines.order_by("id")] == [
        (ln.description, ln.amount) for ln in oil.lines.order_by("id")
    ]
    assert selectors.declined_recommendations(user=world.advisor, vehicle=shop.vehicle) == []
    with pytest.raises(Conflict):
        services.declined_repropose(actor=world.advisor, job=oil, order=later)
    with pytest.raises(ValidationFailed):
        services.declined_repropose(actor=world.advisor, job=brakes, order=later)  # not declined
    assert RepairOrder.objects.get(pk=later.pk).total == Decimal("452.00")


def test_additional_work_photos_are_stored_without_gps(world, shop):
    from aftersales.common.tests.test_uploads import has_metadata, phone_photo

    in_progress(world, shop)
    services.additional_work_propose(actor=world.technician, order=shop.order, title="刹车片", hours="1", cause="磨损到限",
                                     photos=[upload("brake.jpg", phone_photo(size=(80, 40)))])
    photo = WorkPhoto.objects.get()
    photo.image.open("rb")
    stored = photo.image.read()
    photo.image.close()
    assert not has_metadata(stored) and (photo.width, photo.height) == (40, 80)
