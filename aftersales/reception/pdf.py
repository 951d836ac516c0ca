"""The handover sheet as a PDF, in the language asked for (zh-hans or en)."""

from __future__ import annotations

import io
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import override
from reportlab.graphics.shapes import Circle, Drawing, Line, Rect, String
from reportlab.lib import colors
from reportlab.lib.units import mm
from reportlab.platypus import Image, Spacer

from aftersales.common import pdf

from .choices import Condition, DamageKind, DrivingCondition, ExtraRequest, Frequency, SignedVia, Since

OUTLINE_W, OUTLINE_H = 100 * mm, 50 * mm


def car_outline(marks: list[Any], font: str) -> Drawing:
    """A top view of a car (front to the right) with the damage marks numbered where the advisor tapped."""
    d = Drawing(OUTLINE_W, OUTLINE_H, initialFontName=font)  # not the non-embedded Helvetica
    w, h = OUTLINE_W, OUTLINE_H
    grey = colors.HexColor("#777777")
    d.add(Rect(w * 0.06, h * 0.12, w * 0.88, h * 0.76, rx=h * 0.18, ry=h * 0.18, strokeColor=grey, fillColor=None, strokeWidth=1.2))
    d.add(Rect(w * 0.30, h * 0.22, w * 0.36, h * 0.56, rx=h * 0.08, ry=h * 0.08, strokeColor=grey, fillColor=None))
    d.add(Line(w * 0.66, h * 0.22, w * 0.74, h * 0.16, strokeColor=grey))
    d.add(Line(w * 0.66, h * 0.78, w * 0.74, h * 0.84, strokeColor=grey))
    d.add(Line(w * 0.30, h * 0.22, w * 0.24, h * 0.16, strokeColor=grey))
    d.add(Line(w * 0.30, h * 0.78, w * 0.24, h * 0.84, strokeColor=grey))
    for cx in (0.22, 0.78):
        for cy in (0.08, 0.92):
            d.add(Rect(w * cx - w * 0.06, h * cy - h * 0.04, w * 0.12, h * 0.08, fillColor=colors.HexColor("#444444"), strokeColor=None))
    for n, mark in enumerate(marks, start=1):
        x = w * float(mark.x) / 100
        y = h - h * float(mark.y) / 100  # the screen's y grows downwards
        d.add(Circle(x, y, 3.2 * mm, fillColor=colors.HexColor("#d33"), strokeColor=colors.white))
        d.add(String(x, y - 1.2 * mm, str(n), fontName=font, fontSize=7, fillColor=colors.white, textAnchor="middle"))
    return d


def _local(value: Any, store: Any) -> str:
    return timezone.localtime(value, store.zone).strftime("%Y-%m-%d %H:%M") if value else "—"


def _image(field: Any, max_w: float, max_h: float) -> Image | None:
    try:
        with field.open("rb") as fh:
            data = fh.read()
    except (OSError, ValueError):
        return None
    image = Image(io.BytesIO(data))
    ratio = min(max_w / image.imageWidth, max_h / image.imageHeight, 1)
    image.drawWidth, image.drawHeight = image.imageWidth * ratio, image.imageHeight * ratio
    return image


def handover_pdf(handover: Any, language: str) -> bytes:
    with override(language):
        st = pdf.styles(language)
        font = pdf.cjk_font()
        store, vehicle, customer = handover.store, handover.vehicle, handover.customer
        marks = list(handover.marks.all())
        title = _("Vehicle handover sheet")
        story: list[Any] = [
            pdf.para(f"{title} · {store.name}", st["title"]),
            pdf.para(f"{_('Started at')}: {_local(handover.created_at, store)}"
                     + (f" · {_('Repair order')}: {handover.order.number}" if handover.order_id else ""), st["small"]),
            pdf.para(_("The car"), st["h2"]),
            pdf.key_value_table([
                (_("Customer"), f"{customer.name} ({customer.greeting})"),
                (_("Plate"), vehicle.plate or "—"),
                (_("VIN"), vehicle.vin),
                (_("Model"), f"{vehicle.make} {vehicle.model} {vehicle.year or ''}".strip()),
                (_("Mileage (km)"), f"{handover.mileage:,}" if handover.mileage is not None else "—"),
                (_("Fuel / charge level"), f"{handover.energy_level}%" if handover.energy_level is not None else "—"),
                (_("Exterior"), " · ".join(x for x in (str(Condition(handover.exterior).label), handover.exterior_notes) if x)),
                (_("Interior"), " · ".join(x for x in (str(Condition(handover.interior).label), handover.interior_notes) if x)),
                (_("Warning lights on"), handover.warning_lights or _("None")),
                (_("Belongings left in the car"), handover.belongings or _("None")),
            ], st),
            pdf.para(_("Existing damage"), st["h2"]),
            car_outline(marks, font),
        ]
        if marks:
            story.append(pdf.grid_table(
                ["#", _("Damage"), _("Note"), _("Photos")],
                [[str(n), str(DamageKind(m.kind).label), m.note or "", str(len(m.photos.all()))] for n, m in enumerate(marks, 1)],
                st, [10 * mm, 35 * mm, 105 * mm, 20 * mm],
            ))
        else:
            story.append(pdf.para(_("No existing damage marked."), st["body"]))
        photos = list(handover.photos.all())[:6]
        if photos:
            story.append(pdf.para(_("Photos"), st["h2"]))
            for photo in photos:
                image = _image(photo.image, 80 * mm, 55 * mm)
                if image is not None:
                    story.append(image)
                    if photo.caption:
                        story.append(pdf.para(photo.caption, st["small"]))
        story += [
            pdf.para(_("Inquiry"), st["h2"]),
            pdf.key_value_table([
                (_("In the customer's words"), handover.customer_words or "—"),
                (_("Since when"), str(Since(handover.since).label) if handover.since else "—"),
                (_("How often"), str(Frequency(handover.frequency).label) if handover.frequency else "—"),
                (_("Under what conditions"), "、".join(str(DrivingCondition(c).label) for c in handover.conditions) or "—"),
                (_("Advisor's restatement"), handover.restatement or "—"),
                (_("Extra requests"), "、".join(str(ExtraRequest(r).label) for r in handover.extra_requests) or "—"),
                (_("Promised for"), _local(handover.promised_at, store)),
            ], st),
            pdf.para(_("Customer's confirmation"), st["h2"]),
        ]
        if handover.signed_at:
            signature = _image(handover.signature, 60 * mm, 25 * mm)
            if signature is not None:
                story.append(signature)
            story.append(pdf.para(
                f"{handover.signer_name} · {_local(handover.signed_at, store)} · {SignedVia(handover.signed_via).label}", st["body"]
            ))
        else:
            story.append(pdf.para(_("Not signed yet."), st["body"]))
        story += [Spacer(1, 6 * mm), pdf.para(
            _("I confirm the condition of my car, its mileage and fuel or charge level, and the belongings listed above."),
            st["small"],
        )]
        return pdf.build(story, title=f"{title} {vehicle.plate}")
