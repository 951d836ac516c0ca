"""Correcting an estimate (issue 14, item 1): edit and delete jobs, labour / parts / fee lines and discounts while
the estimate is a draft; after sending, a new version the customer approves again with the old one kept; unpriced
jobs never sent; "OEM parts" adds OEM parts only; one total; only priced, really offered jobs become declined
recommendations. Service, API and page (htmx) level."""

from __future__ import annotations

from decimal import Decimal

import pytest

from aftersales.common.errors import Conflict, ValidationFailed
from aftersales.common.tests.api_helpers import Api
from aftersales.estimates import selectors, services
from aftersales.estimates.models import Estimate, EstimateRevision, JobOption, OptionGroup
from aftersales.workshop.models import RepairJob, RepairLine, RepairOrder
from aftersales.workshop.services import repair_job_move

from .conftest import approve_all, signature_data_url

pytestmark = pytest.mark.django_db
SIG = signature_data_url()


def lines_of(job):
    return [
        {"kind": ln.kind, "description": ln.description, "code": ln.code, "quantity": ln.quantity,
         "unit_price": ln.unit_price, "discount": ln.discount, "part": ln.part, "is_aftermarket": ln.is_aftermarket,
         "unit_cost": ln.unit_cost}
        for ln in job.lines.order_by("id")
    ]


def test_draft_job_lines_fees_and_discounts_are_corrected_in_place(world, shop):
    (job,) = services.estimate_add_operation(actor=world.advisor, order=shop.order, operation=shop.brakes)
    lines = lines_of(job)
    lines[0]["quantity"] = "2"  # labour 2 h × 300
    lines[1]["discount"] = "20"  # pads 620 − 20
    lines.append({"kind": "fee", "description": "废液处理费", "quantity": 1, "unit_price": "15"})
    services.estimate_job_edit(actor=world.advisor, order=shop.order, job=job, title="更换前刹车片（含磨盘检查）", lines=lines)
    job.refresh_from_db()
    assert job.title == "更换前刹车片（含磨盘检查）"
    assert [(ln.kind, ln.amount) for ln in job.lines.order_by("id")] == [
        ("labour", Decimal("600.00")), ("part", Decimal("600.00")), ("fee", Decimal("15.00"))
    ]
    shop.order.refresh_from_db()
    assert shop.order.total == Decimal("1215.00")
    assert selectors.estimate_figures(shop.order).total == Decimal("1215.00")
    assert Estimate.objects.get(order=shop.order).status == "draft"
    assert not EstimateRevision.objects.exists()


def test_every_bad_line_is_reported_at_once_and_nothing_is_written(world, shop):
    (job,) = services.estimate_add_operation(actor=world.advisor, order=shop.order, operation=shop.brakes)
    lines = lines_of(job)
    lines[0]["quantity"] = "-1"
    lines[1]["unit_price"] = "abc"
    lines.append({"kind": "fee", "description": "", "quantity": 1, "unit_price": "5"})
    with pytest.raises(ValidationFailed) as err:
        services.estimate_job_edit(actor=world.advisor, order=shop.order, job=job, title="x", lines=lines)
    fields = {e["field"] for e in err.value.extra["errors"]}
    assert fields == {"job.lines[1].quantity", "job.lines[2].unit_price", "job.lines[3].description"}
    job.refresh_from_db()
    assert job.title != "x" and job.lines.count() == 2


def test_editing_a_sent_estimate_makes_a_new_version_the_customer_approves_again(world, shop):
    (job,) = services.estimate_add_operation(actor=world.advisor, order=shop.order, operation=shop.brakes)
    first = services.estimate_send(actor=world.advisor, order=shop.order)
    old_token = services.approval_token(first)
    old_total = EstimateRevision.objects.get(estimate=first, version=1).total
    lines = lines_of(job)
    lines[1]["discount"] = "100"
    services.estimate_job_edit(actor=world.advisor, order=shop.order, job=job, lines=lines)
    first.refresh_from_db()
    assert first.status == "draft"  # back to the advisor: the old link no longer works
    assert services.estimate_from_token(old_token)[1] == "revised"
    with pytest.raises(Conflict):
        services.authorize_by_link(token=old_token, decisions=approve_all([job]), signer_name="张伟", signature=SIG)
    second = services.estimate_send(actor=world.advisor, order=shop.order)
    revisions = list(EstimateRevision.objects.filter(estimate=second).order_by("version"))
    assert [r.version for r in revisions] == [1, 3]
    assert revisions[0].total == old_total and revisions[0].superseded_at is not None
    assert revisions[1].total == old_total - Decimal("100.00") and revisions[1].superseded_at is None
    auth = services.authorize_by_link(
        token=services.approval_token(second), decisions=approve_all([job]), signer_name="张伟", signature=SIG
    )
    assert auth.approved_total == old_total - Decimal("100.00")


def test_deleting_jobs_and_options(world, shop):
    oem, aftermarket = services.estimate_add_operation(
        actor=world.advisor, order=shop.order, operation=shop.brakes, part_choice="both"
    )
    (oil,) = services.estimate_add_operation(actor=world.advisor, order=shop.order, operation=shop.oil_service)
    services.estimate_job_delete(actor=world.advisor, order=shop.order, job=oem)  # the recommended option
    assert not RepairJob.objects.filter(pk=oem.pk).exists()
    assert not OptionGroup.objects.filter(order=shop.order).exists()  # one option left: an ordinary job
    assert not JobOption.objects.filter(job=aftermarket).exists()
    shop.order.refresh_from_db()
    assert shop.order.total == selectors.estimate_figures(shop.order).total
    services.estimate_job_delete(actor=world.advisor, order=shop.order, job=oil)
    shop.order.refresh_from_db()
    assert list(RepairJob.objects.filter(order=shop.order)) == [aftermarket]
    assert shop.order.total == selectors.estimate_figures(shop.order).total


def test_an_approved_job_cannot_be_edited_or_deleted(world, shop):
    (job,) = services.estimate_add_operation(actor=world.advisor, order=shop.order, operation=shop.brakes)
    estimate = services.estimate_send(actor=world.advisor, order=shop.order)
    services.authorize_by_link(token=services.approval_token(estimate), decisions=approve_all([job]), signer_name="张伟", signature=SIG)
    with pytest.raises(Conflict):
        services.estimate_job_edit(actor=world.advisor, order=shop.order, job=job, title="cheaper")
    with pytest.raises(Conflict):
        services.estimate_job_delete(actor=world.advisor, order=shop.order, job=job)
    assert RepairLine.objects.filter(job=job).count() == 2


def test_an_unpriced_job_is_flagged_and_never_sent(world, shop):
    job = services.estimate_add_job(actor=world.advisor, order=shop.order, title="前刹车片厚度 (2.5 mm)")
    figures = selectors.estimate_figures(shop.order)
    assert [r.job for r in figures.unpriced] == [job]
    with pytest.raises(ValidationFailed) as err:
        services.estimate_send(actor=world.advisor, order=shop.order)
    assert err.value.code == "unpriced_jobs"
    assert shop.order.status == RepairOrder.objects.get(pk=shop.order.pk).status == "checked_in"
    services.estimate_job_edit(actor=world.advisor, order=shop.order, job=job, lines=[
        {"kind": "labour", "description": "检查并更换前刹车片", "quantity": "1.5", "unit_price": "300"},
    ])
    assert services.estimate_send(actor=world.advisor, order=shop.order).status == "sent"


def test_oem_choice_adds_oem_parts_only(world, shop):
    """A guide operation that lists an aftermarket part: "OEM parts" swaps it for its OEM original."""
    op = services.labour_operation_save(
        actor=world.manager, group=world.group, code="BRK-X", name_zh="更换刹车片（副厂件配置）", standard_hours="1",
        parts=[{"part": shop.bosch, "quantity": 1}],
    )
    (job,) = services.estimate_add_operation(actor=world.advisor, order=shop.order, operation=op, part_choice="oem")
    parts = [ln.part for ln in job.lines.filter(kind="part")]
    assert parts == [shop.pads] and not any(ln.is_aftermarket for ln in job.lines.all())
    (alt,) = services.estimate_add_operation(actor=world.advisor, order=shop.order, operation=op, part_choice="aftermarket")
    assert [ln.part for ln in alt.lines.filter(kind="part")] == [shop.bosch]


def test_the_order_header_total_counts_one_option_of_a_group(world, shop):
    services.estimate_add_operation(actor=world.advisor, order=shop.order, operation=shop.brakes, part_choice="both")
    services.estimate_add_operation(actor=world.advisor, order=shop.order, operation=shop.oil_service)
    shop.order.refresh_from_db()
    figures = selectors.estimate_figures(shop.order)
    # labour 450 + OEM pads 620 (not also Bosch 450) + oil (100 + 4 × 88)
    assert figures.total == Decimal("1522.00")
    assert shop.order.total == figures.total


def test_only_priced_really_offered_jobs_become_declined_recommendations(world, shop):
    (brakes,) = services.estimate_add_operation(actor=world.advisor, order=shop.order, operation=shop.brakes)
    free = services.estimate_add_job(actor=world.advisor, order=shop.order, title="保修检查", job_type="warranty", hours="0.5")
    estimate = services.estimate_send(actor=world.advisor, order=shop.order)
    decisions = {brakes.pk: {"approve": False}, free.pk: {"approve": False}}
    services.authorize_by_link(token=services.approval_token(estimate), decisions=decisions, signer_name="张伟", signature=SIG)
    # a proposed job dropped by a move without being on a decided estimate is not a recommendation the customer declined
    never_offered = services.estimate_add_job(actor=world.advisor, order=shop.order, title="空调清洗", hours="0.5")
    repair_job_move(actor=world.advisor, job=never_offered, to="declined", reason="x")
    rows = selectors.declined_recommendations(user=world.advisor, vehicle=shop.vehicle)
    assert [r.job for r in rows] == [brakes]


# ---- API ----------------------------------------------------------------------------------------------------------
def test_edit_and_delete_over_the_api(world, shop):
    (job,) = services.estimate_add_operation(actor=world.advisor, order=shop.order, operation=shop.brakes)
    api = Api.session(world.advisor)
    url = f"/api/estimates/orders/{shop.order.pk}/jobs/{job.pk}"
    bad = api.request("patch", url, {"lines": [
        {"kind": "labour", "description": "", "quantity": "1", "unit_price": "300"},
        {"kind": "part", "description": "刹车片", "quantity": "1", "unit_price": "620", "discount": "999"},
    ]})
    assert bad.status_code == 422
    assert {e["field"] for e in bad.json()["errors"]} == {"job.lines[1].description", "job.lines[2].discount"}
    assert job.lines.count() == 2
    good = api.request("patch", url, {"title": "更换前刹车片", "lines": [
        {"kind": "labour", "description": "更换前刹车片", "quantity": "1.5", "unit_price": "300"},
        {"kind": "part", "description": "刹车片", "quantity": "1", "unit_price": "620", "part_id": shop.pads.pk, "discount": "20"},
        {"kind": "fee", "description": "废料处理", "quantity": "1", "unit_price": "10"},
    ]})
    assert good.status_code == 200, good.content
    assert Decimal(good.json()["estimate"]["total"]) == Decimal("1060.00")
    other = Api.session(world.advisor_b).request("delete", url)
    assert other.status_code == 404 and RepairJob.objects.filter(pk=job.pk).exists()
    gone = api.request("delete", url)
    assert gone.status_code == 200 and not RepairJob.objects.filter(pk=job.pk).exists()


# ---- the order page ---------------------------------------------------------------------------------------------------
def test_the_order_page_edits_a_job_with_htmx_and_shows_every_error(world, shop, client):
    (job,) = services.estimate_add_operation(actor=world.advisor, order=shop.order, operation=shop.brakes)
    client.force_login(world.advisor)
    url = f"/orders/{shop.order.pk}/jobs/{job.pk}/edit/"
    form = client.get(url, headers={"HX-Request": "true"})
    assert form.status_code == 200 and b'name="line-1-unit_price"' in form.content
    post = {"title": "更换前刹车片", "cause": "", "rows": "3",
            "line-0-kind": "labour", "line-0-description": "工时", "line-0-quantity": "0", "line-0-unit_price": "300",
            "line-1-kind": "part", "line-1-description": "刹车片", "line-1-quantity": "1", "line-1-unit_price": "-5",
            "line-1-part": str(shop.pads.pk),
            "line-2-kind": "fee", "line-2-description": "", "line-2-quantity": "1", "line-2-unit_price": ""}
    bad = client.post(url, post, headers={"HX-Request": "true"})  # htmx swaps the form with its errors in place
    assert bad.status_code == 200 and b"job-edit-errors" in bad.content
    assert bad.content.count(b'class="errorlist" data-testid="error-') == 2  # both bad cells, at once
    full = client.post(url, post)  # without htmx: the order page, 422
    assert full.status_code == 422 and full.content.count(b'class="errorlist" data-testid="error-') == 2
    assert job.lines.get(kind="labour").quantity == Decimal("1.50")
    post.update({"line-0-quantity": "1", "line-1-unit_price": "600", "line-2-description": "<b>处理费</b>", "line-2-unit_price": "8"})
    ok = client.post(url, post, headers={"HX-Request": "true"})
    assert ok.status_code == 200 and ok["HX-Refresh"] == "true"
    page = client.get(f"/orders/{shop.order.pk}/")
    assert "&lt;b&gt;处理费&lt;/b&gt;" in page.content.decode()
    client.force_login(world.advisor_b)
    assert client.get(url).status_code == 404
    assert client.post(f"/orders/{shop.order.pk}/jobs/{job.pk}/delete/").status_code == 404
