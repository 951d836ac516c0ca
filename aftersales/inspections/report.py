"""The inspection report for the customer: a signed link (no login, expires) and a PDF in the customer's language.

Chinese text uses the embedded CJK font of ``aftersales.common.pdf`` (subset into the file, so every reader shows it,
and the text layer stays real Unicode, searchable and extractable), in both languages.
"""

from __future__ import annotations

import io
from typing import Any

from django.conf import settings
from django.core import signing
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import override

from aftersales.common.pdf import cjk_font, table_style
from aftersales.common.pdf import escape as pdf_escape

from .choices import Rating
from .models import Inspection
from .photos import thumbnail

REPORT_SALT = "inspections.report"
REPORT_LINK_DAYS = 30
RATING_COLOURS = {Rating.GREEN: "#d8f0dc", Rating.YELLOW: "#fff1c2", Rating.RED: "#f9d0cc", "": "#eeeeee"}


def link_max_age() -> int:
    return int(getattr(settings, "INSPECTIONS_REPORT_LINK_DAYS", REPORT_LINK_DAYS)) * 24 * 3600


def report_token(inspection: Inspection) -> str:
    return signing.dumps(inspection.pk, salt=REPORT_SALT)


def report_link(inspection: Inspection) -> str:
    return f"{settings.AFTERSALES_PUBLIC_URL.rstrip('/')}/inspections/r/{report_token(inspection)}/"


def inspection_id_from_token(token: str) -> int | None:
    """The inspection a link is for, or None when the link was tampered with or has expired."""
    try:
        value = signing.loads(token, salt=REPORT_SALT, max_age=link_max_age())
    except signing.BadSignature:  # SignatureExpired is a BadSignature
        return None
    return value if isinstance(value, int) else None


def report_language(inspection: Inspection, requested: str | None = None) -> str:
    if requested in ("en", "zh-hans"):
        return requested
    language = getattr(inspection.order.customer, "language", "") or "zh-hans"
    return "en" if language == "en" else "zh-hans"


def technician_names(inspection: Inspection) -> str:
    """Who did the inspection: its technician, else the people who recorded its items (older inspections started
    without a technician)."""
    if inspection.technician is not None:
        return str(inspection.technician)
    from django.contrib.auth import get_user_model

    ids = inspection.items.exclude(checked_by=None).values_list("checked_by", flat=True).distinct()
    return "、".join(str(u) for u in get_user_model().objects.filter(pk__in=list(ids)).order_by("pk"))


def _esc(text: Any) -> str:
    return pdf_escape(text)  # the one escaping helper of every document (aftersales.common.pdf)


def render_pdf(inspection: Inspection, language: str) -> bytes:
    """The report as a PDF (A4) in ``language`` ("zh-hans" or "en"), with the items, diagnosis and photos."""
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.lib.units import mm
    from reportlab.platypus import Image, Paragraph, SimpleDocTemplate, Spacer, Table

    from .selectors import grouped_items, rating_counts

    cjk = cjk_font()

    def style(size: float, bold: bool = False, name: str = "p") -> ParagraphStyle:
        # one embedded font in both languages (its Latin is complete), so no reader substitutes a font of its own
        return ParagraphStyle(name, fontName=cjk, fontSize=size, leading=size * 1.35, wordWrap="CJK")

    body, small, h1, h2 = style(9.5), style(8), style(16, True, "h1"), style(11.5, True, "h2")

    def para(text: Any, st: ParagraphStyle | None = None) -> Paragraph:
        return Paragraph(_esc(text), st or body)

    order = inspection.order
    store = inspection.store
    buf = io.BytesIO()
    with override(language):
        doc = SimpleDocTemplate(
            buf, pagesize=A4, leftMargin=15 * mm, rightMargin=15 * mm, topMargin=14 * mm, bottomMargin=14 * mm,
            title=_("Vehicle inspection report"), author=store.name, initialFontName=cjk,
        )
        when = timezone.localtime(inspection.completed_at or inspection.started_at, store.zone)
        counts = rating_counts(inspection)
        story: list[Any] = [
            para(_("Vehicle inspection report"), h1),
            para(store.name + (f" · {store.phone}" if store.phone else ""), small),
            Spacer(1, 4 * mm),
        ]
        facts = [
            (_("Customer"), order.customer.greeting),
            (_("Vehicle"), f"{order.vehicle.plate} {order.vehicle.make} {order.vehicle.model}".strip()),
            (_("VIN"), order.vehicle.vin),
            (_("Mileage"), f"{inspection.mileage:,} km" if inspection.mileage else "—"),
            (_("Repair order"), order.number),
            (_("Checklist"), inspection.checklist_name_in(language)),
            (_("Inspected on"), when.strftime("%Y-%m-%d %H:%M")),
            (_("Technician"), technician_names(inspection) or "—"),
        ]
        table = Table([[para(k, small), para(v)] for k, v in facts], colWidths=[32 * mm, 148 * mm])
        table.setStyle(table_style([("VALIGN", (0, 0), (-1, -1), "TOP"), ("BOTTOMPADDING", (0, 0), (-1, -1), 2)]))
        story += [table, Spacer(1, 3 * mm)]
        summary = _("Summary: %(red)s urgent, %(yellow)s attention, %(green)s OK") % counts
        story += [para(summary, h2), Spacer(1, 2 * mm)]
        diagnosis = [
            (_("Symptoms"), inspection.symptoms), (_("Findings"), inspection.findings),
            (_("Likely causes"), inspection.likely_causes), (_("Recommended work"), inspection.recommended_work),
        ]
        if any(v for _k, v in diagnosis):
            story.append(para(_("Diagnosis"), h2))
            for label, value in diagnosis:
                if value:
                    story += [para(label, small), para(value), Spacer(1, 1.5 * mm)]
            story.append(Spacer(1, 2 * mm))
        photos: list[tuple[str, Any]] = []
        for group in grouped_items(inspection, language):
            story.append(para(group["name"] or _("Items"), h2))
            rows = [[para(_("Item"), small), para(_("Result"), small), para(_("Measurement"), small), para(_("Notes"), small)]]
            shades = []
            for n, item in enumerate(group["items"], start=1):
                value = f"{item.value.normalize():f} {item.unit}" if item.value is not None else ""
                notes = item.notes
                if item.overridden and item.override_note:
                    notes = f"{notes}\n{item.override_note}".strip()
                rows.append([
                    para(item.name_in(language)), para(Rating(item.rating).label if item.rating else "—"),
                    para(value), para(notes),
                ])
                shades.append(("BACKGROUND", (1, n), (1, n), colors.HexColor(RATING_COLOURS.get(item.rating, "#eeeeee"))))
                photos += [(item.name_in(language), p) for p in item.photos.all()]
            t = Table(rows, colWidths=[62 * mm, 24 * mm, 30 * mm, 64 * mm], repeatRows=1)
            t.setStyle(table_style([
                ("GRID", (0, 0), (-1, -1), 0.4, colors.HexColor("#bbbbbb")),
                ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#f2f2f2")),
                ("VALIGN", (0, 0), (-1, -1), "TOP"), *shades,
            ]))
            story += [t, Spacer(1, 3 * mm)]
        if photos:
            story.append(para(_("Photos"), h2))
            cells: list[Any] = []
            for caption, photo in photos:
                try:
                    with photo.file.open("rb") as fh:
                        data = thumbnail(fh.read(), 700)
                except (OSError, ValueError):
                    continue
                ratio = photo.height / photo.width if photo.width else 0.75
                width = 56 * mm
                cells.append([Image(io.BytesIO(data), width=width, height=min(width * ratio, 70 * mm)), para(caption, small)])
            grid = [cells[i:i + 3] for i in range(0, len(cells), 3)]
            for row in grid:
                while len(row) < 3:
                    row.append("")
                photo_table = Table([row], colWidths=[60 * mm] * 3)
                photo_table.setStyle(table_style([]))
                story.append(photo_table)
                story.append(Spacer(1, 2 * mm))
        story += [Spacer(1, 4 * mm), para(_("Questions? Call %(phone)s.") % {"phone": store.phone or store.name}, small)]
        doc.build(story)
    return buf.getvalue()


def status_page_links(order: Any, language: str) -> list[tuple[str, str]]:
    """The inspection report's signed link for the customer's status page, once an inspection of the order is complete."""
    inspection = Inspection.objects.filter(order=order, status="completed").order_by("-completed_at", "-id").first()
    if inspection is None:
        return []
    with override(language):
        return [(_("Inspection report"), report_link(inspection))]
