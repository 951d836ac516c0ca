"""Demo damage assessments at the Guangzhou store (`make run` shows them on /assessments/ and the cockpit):

- two approved last week, photos with the damage outlined, an insurer (named in both languages) and its approved
  amount; one owner approved their share, the other has not decided yet (an English-speaking owner's when the demo
  has one; the link and the report come in either language with ?lang=);
- one being assessed this morning, with the standard angles taken and findings listed (the desk to try).

Written through the services, with the times of the story, so the figures (time vs baseline) show something."""

from __future__ import annotations

import datetime as dt
import io
from decimal import Decimal
from typing import Any

from .choices import STANDARD_ANGLES

COLOURS = [(183, 28, 28), (25, 118, 210), (56, 142, 60), (97, 97, 97)]


def demo_photo(seed: int, angle: str) -> bytes:
    """A drawn stand-in for a car photo: the body, windows, wheels and a scratch (no camera, no metadata)."""
    from PIL import Image, ImageDraw

    image = Image.new("RGB", (640, 420), (205, 214, 224))
    draw = ImageDraw.Draw(image)
    draw.rectangle([0, 300, 640, 420], fill=(120, 120, 120))
    body = COLOURS[seed % len(COLOURS)]
    side = angle in ("left", "right")
    left, right = (70, 570) if side else (150, 490)
    draw.rounded_rectangle([left, 170, right, 310], radius=40, fill=body)
    draw.rounded_rectangle([left + 80, 110, right - 90, 185], radius=30, fill=tuple(max(c - 40, 0) for c in body))
    draw.rectangle([left + 100, 125, right - 110, 175], fill=(180, 210, 235))
    for x in ((left + 70, right - 70) if side else (left + 40, right - 40)):
        draw.ellipse([x - 38, 270, x + 38, 346], fill=(30, 30, 30))
    draw.line([(left + 150, 230 + seed % 3 * 10), (left + 260, 250)], fill=(245, 245, 245), width=5)
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=80)
    return buffer.getvalue()


def load(builder: Any) -> None:
    from aftersales.vehicles.models import Vehicle

    from . import services
    from .models import AssessmentPhoto

    store = builder.stores["gz"]
    advisor = builder._advisors(store)[1]
    now = builder.now
    busy = ("checked_in", "inspecting", "estimate_sent", "authorized", "in_progress", "waiting_parts", "waiting_auth",
            "quality_check", "ready")
    free = (Vehicle.objects.filter(owner__home_store=store).exclude(plate="").exclude(repair_orders__status__in=busy)
            .select_related("owner").order_by("-id"))
    chinese = list(free.exclude(owner__language="en")[:3])
    english = free.filter(owner__language="en").first() or (chinese[2] if len(chinese) > 2 else None)
    if english is None or len(chinese) < 2:  # pragma: no cover - the demo always has these cars
        return
    stories = [
        # (car, days ago, minutes taken, findings, insurer, the owner's excess, the owner decides)
        (chinese[0], 6, 21, [("front_bumper", "dent", "severe", ""), ("headlamp_r", "crack", "moderate", "灯罩裂纹")],
         ("中国人保财险 / PICC P&C", "PDAA202644010000123", "RC2026120001", "陈定损"), Decimal("300"), True),
        (english, 3, 26, [("door_fl", "scratch", "light", ""), ("wing_fl", "dent", "moderate", "dent 8 cm")],
         ("平安产险 / Ping An P&C", "PA-11-2026-778812", "CLM-55031", "Liu Yang"), Decimal("500"), False),
    ]
    for seed, (car, days, minutes, findings, (insurer, policy, claim, their_assessor), excess, decides) in enumerate(stories):
        start = now - dt.timedelta(days=days, hours=2)
        a = services.assessment_open(actor=advisor, store=store, vehicle=car, at=start)
        for n, angle in enumerate([*STANDARD_ANGLES, "close_up"]):
            services.photo_add(actor=advisor, assessment=a, content=demo_photo(seed + n, angle), angle=angle,
                               at=start + dt.timedelta(minutes=1 + n))
        first = AssessmentPhoto.objects.filter(assessment=a).order_by("id").first()
        close = AssessmentPhoto.objects.filter(assessment=a, angle="close_up").first()
        for photo in (first, close):
            if photo is not None:
                services.photo_outline_save(actor=advisor, photo=photo,
                                            shapes=[{"x": 0.3, "y": 0.5, "w": 0.28, "h": 0.18}], at=start + dt.timedelta(minutes=12))
        for n, (panel, damage, severity, note) in enumerate(findings):
            services.finding_add(actor=advisor, assessment=a, panel=panel, damage_type=damage, severity=severity, note=note,
                                 at=start + dt.timedelta(minutes=13 + n))
        a = services.assessment_approve(actor=advisor, assessment=a, at=start + dt.timedelta(minutes=minutes))
        # the insurer approves most of the estimate (the owner pays the excess)
        services.insurance_save(actor=advisor, assessment=a, insurer=insurer, policy_number=policy, claim_number=claim,
                                insurer_assessor=their_assessor, insurer_approved=str(max(a.total - excess, Decimal("0"))))
        a.refresh_from_db()
        services.report_send(actor=advisor, assessment=a, at=start + dt.timedelta(minutes=minutes + 2))
        if decides:
            services.share_decide(assessment=a, decision="approved", signer_name=car.owner.name, agree=True,
                                  at=start + dt.timedelta(hours=1))
    # this morning's, being assessed: the angles taken, two damages listed, the insurer named
    car = chinese[1]
    start = now - dt.timedelta(minutes=35)
    a = services.assessment_open(actor=advisor, store=store, vehicle=car, at=start)
    for n, angle in enumerate(STANDARD_ANGLES[:6]):
        services.photo_add(actor=advisor, assessment=a, content=demo_photo(n + 5, angle), angle=angle,
                           at=start + dt.timedelta(minutes=1 + n))
    services.finding_add(actor=advisor, assessment=a, panel="rear_bumper", damage_type="dent", severity="moderate",
                         at=start + dt.timedelta(minutes=9))
    services.finding_add(actor=advisor, assessment=a, panel="taillamp_l", damage_type="broken", severity="severe",
                         at=start + dt.timedelta(minutes=10))
    services.insurance_save(actor=advisor, assessment=a, insurer="太平洋产险 / CPIC P&C", claim_number="CP-2026-0091")
