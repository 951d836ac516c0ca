"""The damage assessment report as a PDF, in the language asked for (zh-hans or en; the owner's by default), through
the common PDF path (``aftersales.common.pdf``: the embedded CJK font, its styles and tables): the car and the
customer, photo thumbnails with the areas the assessor outlined, the findings, the insurer's part and the customer's
share, and the signatures (the assessor's approval, the owner's decision on their share)."""

from __future__ import annotations

import io
from decimal import Decimal
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import override, pgettext
from PIL import Image as PILImage
from reportlab.graphics.shapes import Drawing, Polygon, Rect
from reportlab.graphics.shapes import Image as ShapeImage
from reportlab.lib import colors
from reportlab.lib.units import mm
from reportlab.platypus import Spacer, Table

from aftersales.common import pdf
from aftersales.common.text import localized_name

from .choices import Action, DamageType, FindingSource, Panel, Severity, ShareDecision
from .outlines import shape_points

THUMB_W, THUMB_H = 54 * mm, 40 * mm
MAX_THUMBS = 12


def report_language(a: Any, asked: str | None = None) -> str:
    if asked in ("en", "zh-hans"):
        return asked
    return "en" if getattr(a.customer, "language", "") == "en" else "zh-hans"


def _local(value: Any, store: Any) -> str:
    return timezone.localtime(value, store.zone).strftime("%Y-%m-%d %H:%M") if value else "—"


def _money(value: Decimal | None) -> str:
    return "—" if value is None else f"¥{value:,.2f}"


def thumbnail(photo: Any) -> Drawing | None:
    """The photo shrunk into a thumbnail box, the outlined areas drawn over it in red."""
    try:
        with photo.image.open("rb") as fh:
            image = PILImage.open(io.BytesIO(fh.read()))
            image.load()
    except (OSError, ValueError):
        return None
    image = image.convert("RGB")
    image.thumbnail((480, 480))
    ratio = min(THUMB_W / image.width, THUMB_H / image.height)
    w, h = image.width * ratio, image.height * ratio
    d = Drawing(w, h, initialFontName=pdf.cjk_font())
    d.add(ShapeImage(0, 0, w, h, image))
    red = colors.HexColor("#d62d20")
    for shape in photo.outlines or []:
        if isinstance(shape, dict) and "points" in shape:  # a polygon: the photo's y runs down, the PDF's up
            flat = [v for x, y in shape_points(shape) for v in (x * w, h - y * h)]
            d.add(Polygon(flat, strokeColor=red, strokeWidth=1.6, fillColor=None))
            continue
        x, y, sw, sh = (float(shape[k]) for k in ("x", "y", "w", "h"))
        d.add(Rect(x * w, h - (y + sh) * h, sw * w, sh * h, strokeColor=red, strokeWidth=1.6, fillColor=None))
    return d


def _photo_grid(photos: list[Any], st: dict[str, Any]) -> Table | None:
    cells = []
    for photo in photos[:MAX_THUMBS]:
        drawing = thumbnail(photo)
        if drawing is None:
            continue
        caption = str(photo.get_angle_display())
        if photo.outlines:
            caption += " · " + _("%(n)s area(s) outlined") % {"n": len(photo.outlines)}
        cells.append([drawing, pdf.para(caption, st["small"])])
    if not cells:
        return None
    rows = [cells[i:i + 3] for i in range(0, len(cells), 3)]
    rows[-1] += [""] * (3 - len(rows[-1]))
    table = Table(rows, colWidths=[58 * mm] * 3)
    table.setStyle(pdf.table_style([("VALIGN", (0, 0), (-1, -1), "TOP"), ("BOTTOMPADDING", (0, 0), (-1, -1), 4)]))
    return table


def _signature_block(label: str, who: str, when: str, st: dict[str, Any]) -> Table:
    table = Table([[pdf.para(label, st["small"])], [pdf.para(who, st["body"])], [pdf.para(when, st["small"])]],
                  colWidths=[80 * mm], rowHeights=[None, 14 * mm, None])
    table.setStyle(pdf.table_style([("LINEBELOW", (0, 1), (0, 1), 0.6, colors.HexColor("#333333")),
                                    ("VALIGN", (0, 1), (0, 1), "BOTTOM")]))
    return table


def assessment_pdf(a: Any, language: str) -> bytes:
    with override(language):
        st = pdf.styles(language)
        store, vehicle, customer = a.store, a.vehicle, a.customer
        title = _("Damage assessment report")
        findings = list(a.findings.filter(source=FindingSource.ASSESSOR).order_by("id"))
        photos = list(a.photos.all().order_by("id"))
        story: list[Any] = [
            pdf.para(f"{title} · {localized_name(store.name, language)}", st["title"]),
            pdf.para(f"{a.number} · {a.get_status_display()} · {_('Opened at')}: {_local(a.created_at, store)}", st["small"]),
            pdf.para(_("The car"), st["h2"]),
            pdf.key_value_table([
                (_("Customer"), f"{customer.name} ({customer.greeting})"),
                (_("Plate"), vehicle.plate or "—"),
                (_("VIN"), vehicle.vin or "—"),
                (_("Model"), f"{vehicle.make} {vehicle.model}".strip() or "—"),
                (_("Repair order"), a.order.number if a.order_id else "—"),
                (_("Assessment time"), _("%(m)s min (baseline %(b)s min)") % {"m": a.minutes, "b": a.baseline_minutes}
                 if a.minutes is not None else "—"),
            ], st),
        ]
        story.append(pdf.para(_("Photos"), st["h2"]))
        grid = _photo_grid(photos, st)
        story.append(grid if grid is not None else pdf.para(_("No photo."), st["body"]))
        story.append(pdf.para(_("Damage found"), st["h2"]))
        if findings:
            story.append(pdf.grid_table(
                ["#", pgettext("damage", "Panel"), pgettext("damage", "Damage"), pgettext("damage", "Severity"), pgettext("damage", "Decision"), pgettext("damage", "Hours")],
                [[str(n), str(Panel(f.panel).label), str(DamageType(f.damage_type).label) + (f" · {f.note}" if f.note else ""),
                  str(Severity(f.severity).label), str(Action(f.action).label), f"{f.hours}"] for n, f in enumerate(findings, 1)],
                st, [8 * mm, 36 * mm, 50 * mm, 22 * mm, 36 * mm, 18 * mm],
            ))
        else:
            story.append(pdf.para(_("No damage listed yet."), st["body"]))
        story += [
            pdf.para(_("Insurance and the customer's share"), st["h2"]),
            pdf.key_value_table([
                (pgettext("damage", "Insurer"), localized_name(a.insurer, language) or "—"),
                (pgettext("damage", "Policy number"), a.policy_number or "—"),
                (pgettext("damage", "Claim number"), a.claim_number or "—"),
                (_("Insurer's assessor"), a.insurer_assessor or "—"),
                (_("Estimate total"), _money(a.total) if a.order_id else "—"),
                (_("The insurer pays"), _money(a.insurer_part) if a.order_id else _money(a.insurer_approved)),
                (_("The customer's share"), _money(a.owner_part) if a.order_id else "—"),
            ], st),
        ]
        if a.note:
            story.append(pdf.para(a.note, st["small"]))
        story.append(pdf.para(_("Signatures"), st["h2"]))
        assessor = _signature_block(
            _("Assessor"), str(a.approved_by) if a.approved_by_id else "",
            _("Approved at %(t)s") % {"t": _local(a.approved_at, store)} if a.approved_at else _("Not approved yet."), st)
        if a.share_decision:
            said = _("%(decision)s %(amount)s at %(t)s") % {
                "decision": ShareDecision(a.share_decision).label, "amount": _money(a.share_amount),
                "t": _local(a.share_decided_at, store)}
        else:
            said = _("Not decided yet.")
        owner = _signature_block(_("Customer (their share)"), a.share_signer, said, st)
        row = Table([[assessor, owner]], colWidths=[87 * mm, 87 * mm])
        row.setStyle(pdf.table_style([("VALIGN", (0, 0), (-1, -1), "TOP")]))
        story += [row, Spacer(1, 5 * mm), pdf.para(
            _("Photos miss hidden damage: what is found once the parts are off is added to the estimate for approval."),
            st["small"])]
        return pdf.build(story, title=f"{title} {a.number}")

