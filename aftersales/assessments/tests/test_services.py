"""Damage assessment services: photos → suggestions reviewed by the assessor → approved → the repair order's priced
jobs (no re-entry), the time against the baseline, insurance, the rule table, every bad input refused whole."""

from __future__ import annotations

import datetime as dt
import http.server
import json
import threading
from decimal import Decimal

import pytest

from aftersales.assessments import proposers, selectors, services
from aftersales.assessments.models import AssessmentPhoto, Finding
from aftersales.common.errors import Conflict, Forbidden, IllegalTransition, ValidationFailed
from aftersales.common.models import AuditEvent
from aftersales.estimates.models import WorkPhoto
from aftersales.workshop.models import RepairJob, RepairLine

from .conftest import jpeg

pytestmark = pytest.mark.django_db


def test_the_outline_maps_to_panels():
    assert proposers.panel_at(95, 50) == "front_bumper"
    assert proposers.panel_at(80, 50) == "bonnet"
    assert proposers.panel_at(55, 8) == "door_fl"
    assert proposers.panel_at(55, 92) == "door_fr"
    assert proposers.panel_at(35, 8) == "door_rl"
    assert proposers.panel_at(3, 50) == "rear_bumper"
    assert proposers.panel_at(15, 50) == "boot_lid"
    assert proposers.panel_at(50, 50) == "roof"


def test_assess_from_the_handover_to_the_repair_order(shop, clock):
    s = shop
    start = clock("2026-12-08 10:00")
    a = services.assessment_open(actor=s.assessor, handover=s.handover)
    assert a.number.startswith("DA261208") and a.customer == s.customer and a.baseline_minutes == 60
    assert a.photos.count() == 1 and a.photos.get().source == "reception" and a.first_photo_at is not None
    services.photo_add(actor=s.world.technician, assessment=a, content=jpeg(2), angle="front")
    proposed = services.assessment_propose(actor=s.assessor, assessment=a)
    assert sorted((f.panel, f.damage_type, f.severity) for f in proposed) == [
        ("door_fl", "scratch", "light"), ("front_bumper", "dent", "moderate")]
    a.refresh_from_db()
    assert a.proposer_name == "marks-rules" and all(f.model_name == "marks-rules" for f in proposed)
    bumper = next(f for f in proposed if f.panel == "front_bumper")
    door = next(f for f in proposed if f.panel == "door_fl")
    with pytest.raises(ValidationFailed) as pending:
        services.assessment_approve(actor=s.assessor, assessment=a)
    assert pending.value.code == "suggestions_pending"
    a.refresh_from_db()
    assert a.status == "draft" and a.order_id is None
    # the assessor: the bumper is worse than marked (replace, the rule's part), the door scratch is right,
    # and the bonnet was missed
    services.finding_add(actor=s.assessor, assessment=a, proposal=bumper, panel="front_bumper", damage_type="dent",
                         severity="severe")
    services.proposal_accept(actor=s.assessor, proposal=door)
    services.finding_add(actor=s.assessor, assessment=a, panel="bonnet", damage_type="dent", severity="light", note="小凹")
    bumper.refresh_from_db()
    door.refresh_from_db()
    assert (bumper.decision, door.decision) == ("changed", "accepted")
    services.insurance_save(actor=s.assessor, assessment=a, insurer="平安产险", policy_number="P-1", claim_number="C-9",
                            insurer_assessor="李查勘", insurer_approved="1000")
    clock("2026-12-08 10:18")
    approved = services.assessment_approve(actor=s.assessor, assessment=a)
    assert approved.status == "approved" and approved.minutes == 18 and approved.order is not None
    order = approved.order
    jobs = list(RepairJob.objects.filter(order=order).order_by("seq"))
    assert len(jobs) == 3 and all(j.status == "proposed" for j in jobs)
    assert "前保险杠" in jobs[0].title or "Front bumper" in jobs[0].title
    bumper_lines = list(RepairLine.objects.filter(job=jobs[0]).order_by("id"))
    assert [(line.kind, line.quantity) for line in bumper_lines] == [("labour", Decimal("1.80")), ("part", Decimal("1.00"))]
    assert bumper_lines[1].part == s.bumper
    door_lines = RepairLine.objects.filter(job=jobs[1])
    assert [(line.kind, line.quantity) for line in door_lines] == [("labour", Decimal("1.50"))]  # paint only: no part
    assert WorkPhoto.objects.filter(order=order).count() == 2
    assert approved.total == order.total > 0
    assert approved.customer_share == approved.total - Decimal("1000")
    actions = set(AuditEvent.objects.filter(object_id=str(a.pk)).values_list("action", flat=True))
    assert {"assessment.opened", "assessment.proposed", "assessment.finding_added", "assessment.insurance",
            "assessment.approved"} <= actions
    # the differences stay: the bumper changed, the bonnet added by the assessor
    figures = selectors.assessment_figures(s.assessor, s.store, start.date(), start.date() + dt.timedelta(days=1))
    assert figures["count"] == 1 and figures["avg_minutes"] == 18 and figures["reduction_pct"] == 70 and figures["on_target"]
    assert (figures["accepted"], figures["changed"], figures["rejected"], figures["added_by_assessor"]) == (1, 1, 0, 1)
    with pytest.raises(IllegalTransition):
        services.assessment_approve(actor=s.assessor, assessment=a)
    assert RepairJob.objects.filter(order=order).count() == 3


def test_every_bad_field_at_once_and_nothing_written(shop):
    s = shop
    a = services.assessment_open(actor=s.assessor, store=s.store, vehicle=s.vehicle)
    with pytest.raises(ValidationFailed) as bad:
        services.finding_add(actor=s.assessor, assessment=a, panel="wheel", damage_type="smashed", severity="x",
                             action="burn", hours="-1")
    assert {e["field"] for e in bad.value.extra["errors"]} == {"panel", "damage_type", "severity", "action", "hours"}
    with pytest.raises(ValidationFailed) as not_image:
        services.photo_add(actor=s.assessor, assessment=a, content=b"%PDF-1.4 not a photo", angle="front")
    assert not_image.value.field == "photo"
    with pytest.raises(ValidationFailed):
        services.photo_add(actor=s.assessor, assessment=a, content=jpeg(), angle="underneath")
    with pytest.raises(ValidationFailed) as insurance:
        services.insurance_save(actor=s.assessor, assessment=a, insurer_approved="lots", claim_number="x" * 41)
    assert {e["field"] for e in insurance.value.extra["errors"]} == {"claim_number", "insurer_approved"}
    with pytest.raises(ValidationFailed) as empty:
        services.assessment_approve(actor=s.assessor, assessment=a)
    assert {e["field"] for e in empty.value.extra["errors"]} == {"findings", "photos"}
    assert not Finding.objects.exists() and not AssessmentPhoto.objects.exists()
    a.refresh_from_db()
    assert a.status == "draft" and a.insurer == ""
    services.finding_add(actor=s.assessor, assessment=a, panel="roof", damage_type="dent", severity="light")
    with pytest.raises(ValidationFailed) as twice:
        services.finding_add(actor=s.assessor, assessment=a, panel="roof", damage_type="dent", severity="severe")
    assert twice.value.code == "duplicate"
    services.assessment_open(actor=s.assessor, handover=s.handover)
    with pytest.raises(Conflict):
        services.assessment_open(actor=s.assessor, handover=s.handover)


def test_no_labour_rate_is_a_clear_error_and_nothing_is_opened(shop):
    from aftersales.estimates.models import LabourRate
    from aftersales.workshop.models import RepairOrder

    s = shop
    LabourRate.objects.filter(store=s.store).delete()
    a = services.assessment_open(actor=s.assessor, handover=s.handover)
    services.finding_add(actor=s.assessor, assessment=a, panel="roof", damage_type="dent", severity="light")
    with pytest.raises(ValidationFailed) as exc:
        services.assessment_approve(actor=s.assessor, assessment=a)
    assert exc.value.code == "no_labour_rate"
    a.refresh_from_db()
    assert a.status == "draft" and not RepairOrder.objects.exists()


def test_scoping_and_roles(shop):
    s = shop
    a = services.assessment_open(actor=s.assessor, handover=s.handover)
    with pytest.raises(Forbidden):
        services.finding_add(actor=s.world.advisor_b, assessment=a, panel="roof", damage_type="dent", severity="light")
    with pytest.raises(Forbidden):
        services.assessment_open(actor=s.world.advisor_b, store=s.store, vehicle=s.vehicle)
    from aftersales.common.errors import NotFound

    with pytest.raises(NotFound):
        selectors.assessment_get(s.world.advisor_b, a.pk)
    # the crew (a technician) takes photos but neither assesses nor approves
    services.photo_add(actor=s.world.technician, assessment=a, content=jpeg(), angle="rear")
    with pytest.raises(Forbidden):
        services.finding_add(actor=s.world.technician, assessment=a, panel="roof", damage_type="dent", severity="light")
    services.finding_add(actor=s.assessor, assessment=a, panel="roof", damage_type="dent", severity="light")
    with pytest.raises(Forbidden):
        services.assessment_approve(actor=s.world.technician, assessment=a)
    with pytest.raises(Forbidden):
        services.assessment_approve(actor=s.world.staff["cashier"], assessment=a)
    with pytest.raises(Forbidden):
        services.rule_save(actor=s.assessor, store=s.store, panel="roof", damage_type="dent", severity="light", action="repair")


def jpeg_with_camera() -> bytes:
    import io

    from PIL import Image

    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"  # Make
    buffer = io.BytesIO()
    Image.new("RGB", (300, 200), (200, 30, 30)).save(buffer, format="JPEG", exif=exif)
    return buffer.getvalue()


def test_from_a_rescue_case_the_crew_photos_come_along(shop, settings):
    from aftersales.rescue import services as rescue

    s = shop
    case = rescue.case_create(actor=s.world.advisor, store=s.store, incident="accident", lat="22.59", lng="114.08",
                              vehicle=s.vehicle)
    rescue.photo_add(actor=s.world.advisor, case=case, content=jpeg_with_camera(), caption="scene")
    a = services.assessment_open(actor=s.assessor, rescue_case=case)
    assert a.rescue_case == case and [p.source for p in a.photos.all()] == ["rescue"]
    data = services._proposer_input(a)
    assert len(data.photos) == 1 and data.marks == []
    # the photo was stored without its metadata (common.uploads re-encodes it)
    from PIL import Image

    with a.photos.get().image.open("rb") as fh:
        assert not Image.open(fh).getexif()


def test_settings_and_a_failing_proposer_leave_the_assessment_as_it_was(shop):
    s = shop
    with pytest.raises(ValidationFailed) as bad:
        services.settings_save(actor=s.world.manager, store=s.store, baseline_minutes="0", proposer="http",
                               service_url="http://plain.example")
    assert {e["field"] for e in bad.value.extra["errors"]} == {"baseline_minutes", "service_url"}
    services.settings_save(actor=s.world.manager, store=s.store, baseline_minutes="45", proposer="onnx",
                           model_path="/nonexistent/model.onnx")
    a = services.assessment_open(actor=s.assessor, handover=s.handover)
    assert a.baseline_minutes == 45
    with pytest.raises(Conflict) as exc:
        services.assessment_propose(actor=s.assessor, assessment=a)
    assert exc.value.code == "proposer_unavailable"
    assert not Finding.objects.exists()


class _Vendor(http.server.BaseHTTPRequestHandler):
    answer: dict = {}

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        photo = body["photos"][0]["id"]
        payload = json.dumps({**self.answer, "findings": [{**f, "photo": photo} for f in self.answer["findings"]]}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args):
        pass


def test_a_vendor_service_proposes_with_its_model_name_and_confidence(shop):
    s = shop
    _Vendor.answer = {"model": "vendor-damage", "version": "3.2", "findings": [
        {"panel": "rear_bumper", "damage_type": "crack", "severity": "moderate", "confidence": 0.91,
         "outline": [[0.1, 0.2], [0.3, 0.2], [0.25, 0.6]]},
        {"panel": "bonnet", "damage_type": "dent", "outline": [[1, 2], [3, 4], [5, 6]]}]}  # out of the photo: left off
    server = http.server.HTTPServer(("127.0.0.1", 0), _Vendor)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        a = services.assessment_open(actor=s.assessor, handover=s.handover)
        found = services.assessment_propose(
            actor=s.assessor, assessment=a, proposer=proposers.HttpProposer(f"http://127.0.0.1:{server.server_port}/"))
    finally:
        server.shutdown()
    found.sort(key=lambda f: f.panel)
    assert [(f.panel, f.confidence, f.model_name, f.model_version) for f in found] == [
        ("bonnet", None, "vendor-damage", "3.2"), ("rear_bumper", Decimal("0.910"), "vendor-damage", "3.2")]
    assert found[1].photo_id == a.photos.get().pk and found[1].outline == [[0.1, 0.2], [0.3, 0.2], [0.25, 0.6]]
    assert found[0].outline == []
    _Vendor.answer = {"findings": [{"panel": "wheel", "damage_type": "dent"}]}
    server = http.server.HTTPServer(("127.0.0.1", 0), _Vendor)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        with pytest.raises(Conflict):
            services.assessment_propose(
                actor=s.assessor, assessment=a, proposer=proposers.HttpProposer(f"http://127.0.0.1:{server.server_port}/"))
    finally:
        server.shutdown()
    assert Finding.objects.filter(assessment=a).count() == 2  # the earlier suggestions stay


def test_onnx_model_on_the_cpu(shop, tmp_path):
    """A tiny model the test builds itself: its output scores the front bumper dent at 0.9, everything else 0."""
    onnx = pytest.importorskip("onnx")
    pytest.importorskip("onnxruntime")
    import numpy as np
    from onnx import TensorProto, helper, numpy_helper

    from aftersales.assessments.choices import DamageType, Panel

    scores = np.zeros((1, len(Panel.values), len(DamageType.values)), dtype=np.float32)
    scores[0, Panel.values.index("front_bumper"), DamageType.values.index("dent")] = 0.9
    # the optional second output: a pentagon around the dent (fractions of the photo)
    shapes = np.zeros((1, len(Panel.values), len(DamageType.values), 5, 2), dtype=np.float32)
    shapes[0, Panel.values.index("front_bumper"), DamageType.values.index("dent")] = [
        [0.2, 0.5], [0.4, 0.45], [0.5, 0.6], [0.35, 0.75], [0.2, 0.7]]
    # output = scores + 0 × mean(image): depends on the input, returns the fixed scores
    graph = helper.make_graph(
        [helper.make_node("ReduceMean", ["image"], ["m"], keepdims=0),
         helper.make_node("Mul", ["m", "zero"], ["z"]),
         helper.make_node("Add", ["scores", "z"], ["out"]),
         helper.make_node("Add", ["shapes", "z"], ["outlines"])],
        "tiny-damage", [helper.make_tensor_value_info("image", TensorProto.FLOAT, [1, 3, 32, 32])],
        [helper.make_tensor_value_info("out", TensorProto.FLOAT, list(scores.shape)),
         helper.make_tensor_value_info("outlines", TensorProto.FLOAT, list(shapes.shape))],
        initializer=[numpy_helper.from_array(scores, "scores"), numpy_helper.from_array(shapes, "shapes"),
                     numpy_helper.from_array(np.array(0, dtype=np.float32), "zero")],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.model_version = 7
    path = tmp_path / "damage.onnx"
    onnx.save(model, str(path))
    s = shop
    services.settings_save(actor=s.world.manager, store=s.store, baseline_minutes="60", proposer="onnx", model_path=str(path))
    a = services.assessment_open(actor=s.assessor, handover=s.handover)
    found = services.assessment_propose(actor=s.assessor, assessment=a)
    assert [(f.panel, f.damage_type, f.severity, f.confidence, f.model_name, f.model_version) for f in found] == [
        ("front_bumper", "dent", "severe", Decimal("0.900"), "tiny-damage", "7")]
    assert found[0].outline == [[0.2, 0.5], [0.4, 0.45], [0.5, 0.6], [0.35, 0.75], [0.2, 0.7]]
