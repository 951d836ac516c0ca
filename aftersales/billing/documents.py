"""Delivery documents as PDF in Chinese and English (ReportLab, with the embedded CJK font of
``aftersales.common.pdf``): repair list, QC report, parts warranty cards, invoice, maintenance reminder card (with the
store's phone, its booking link and a QR code of it). The caller has fetched the order through a scoped selector."""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Any

from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import pgettext
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4, A6, landscape
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table

from aftersales.common.names import guide_name, job_title, one_language
from aftersales.common.pdf import cjk_font, para, table_style

from .choices import DocumentKind

LANGUAGES = ("zh-hans", "en")
# What each document shows decides who may open it: amounts and payments are invoice data (issue 13, item 5).
DOCUMENT_PERMISSIONS = {
    DocumentKind.REPAIR_LIST: "workshop.view_repairorder",
    DocumentKind.QC_REPORT: "workshop.view_repairorder",
    DocumentKind.WARRANTY: "workshop.view_repairorder",
    DocumentKind.INVOICE: "billing.view_invoice",
    DocumentKind.REMINDER: "workshop.view_repairorder",
}


def documents_for(user: Any) -> list[tuple[str, Any]]:
    """The (kind, label) pairs of the documents ``user`` may open."""
    return [(kind, label) for kind, label in DocumentKind.choices if user.has_perm(DOCUMENT_PERMISSIONS[DocumentKind(kind)])]

def _styles() -> dict[str, ParagraphStyle]:
    font = cjk_font()
    base = ParagraphStyle("base", fontName=font, fontSize=9, leading=12, wordWrap="CJK")
    return {
        "base": base,
        "small": ParagraphStyle("small", parent=base, fontSize=8, leading=10, textColor=colors.HexColor("#555555")),
        "h1": ParagraphStyle("h1", parent=base, fontSize=15, leading=19, spaceAfter=4),
        "h2": ParagraphStyle("h2", parent=base, fontSize=11, leading=15, spaceBefore=8, spaceAfter=3),
    }


@dataclass
class Context:
    order: Any
    invoice: Any
    delivery: Any
    jobs: list[Any]
    fitted: list[Any]
    qc_events: list[Any]


def _context(order: Any) -> Context:
    from aftersales.parts.reports import fitted_parts_by_vehicle
    from aftersales.workshop.models import RepairJobEvent

    from .models import Delivery, Invoice

    invoice = Invoice.objects.filter(order_id=order.pk).prefetch_related("lines", "payments", "credit_notes").first()
    jobs = list(order.jobs.select_related("technician").prefetch_related("lines").order_by("seq", "id"))
    fitted = [f for f in fitted_parts_by_vehicle([order.vehicle_id]).get(order.vehicle_id, []) if f.order and f.order.pk == order.pk]
    qc_events = list(
        RepairJobEvent.objects.filter(job__order=order, to_state__in=("done", "passed_qc", "rework"))
        .select_related("job", "actor").order_by("at", "id")
    )
    return Context(
        order=order, invoice=invoice, delivery=Delivery.objects.filter(order_id=order.pk).first(), jobs=jobs,
        fitted=fitted, qc_events=qc_events,
    )


def _money(value: Any) -> str:
    return f"¥{value:,.2f}"


def _local(value: Any, order: Any, fmt: str = "%Y-%m-%d %H:%M") -> str:
    return timezone.localtime(value, order.store.zone).strftime(fmt) if value else "—"


def _table(rows: list[list[Any]], widths: list[float], st: dict[str, ParagraphStyle], header: bool = True) -> Table:
    cells = [[c if isinstance(c, Paragraph) else para(c, st["base"]) for c in row] for row in rows]
    table = Table(cells, colWidths=widths, repeatRows=1 if header else 0)
    style = [
        ("GRID", (0, 0), (-1, -1), 0.4, colors.HexColor("#999999")),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
    ]
    if header:
        style.append(("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e8eef5")))
    table.setStyle(table_style(style))
    return table


def _header(ctx: Context, title: str, st: dict[str, ParagraphStyle]) -> list[Any]:
    o = ctx.order
    rows = [
        [_("Store"), o.store.name, _("Repair order"), o.number],
        [_("Customer"), o.customer.name, _("Vehicle"), f"{o.vehicle.plate or ''} {o.vehicle.vin}"],
        [_("Checked in"), _local(o.opened_at, o), _("Mileage"), f"{o.mileage_in or '—'} km"],
        [_("Advisor"), str(o.advisor or "—"), _("Delivered"), _local(o.delivered_at, o)],
    ]
    return [para(title, st["h1"]), _table(rows, [25 * mm, 60 * mm, 25 * mm, 60 * mm], st, header=False), Spacer(1, 4 * mm)]


def _repair_list(ctx: Context, st: dict[str, ParagraphStyle]) -> list[Any]:
    out = _header(ctx, _("Repair list"), st)
    for job in ctx.jobs:
        out.append(para(f"{job.seq}. {job.title} · {job.get_job_type_display()} · {job.get_status_display()}", st["h2"]))
        if job.cause or job.correction:
            cause, correction = _("Cause"), pgettext("repair job", "correction")
            out.append(para(f"{cause}: {job.cause or '—'} · {correction}: {job.correction or '—'}", st["small"]))
        technician = _("Technician")
        out.append(para(f"{technician}: {job.technician or '—'}", st["small"]))
        rows = [[_("Item"), _("Qty"), _("Unit price"), _("Discount"), _("Amount")]]
        for line in job.lines.all():
            rows.append([f"{line.get_kind_display()} · {line.description} {line.code}", f"{line.quantity.normalize():f}",
                         _money(line.unit_price), _money(line.discount), _money(line.amount)])
        out.append(_table(rows, [80 * mm, 15 * mm, 25 * mm, 22 * mm, 28 * mm], st))
    if ctx.fitted:
        out.append(para(_("Replaced parts"), st["h2"]))
        rows = [[_("Part"), _("Batch / serial"), _("Qty")]]
        rows += [[f"{f.part.name_zh} / {f.part.name_en} {f.part.number}", f.batch.number if f.batch else "—", f"{f.quantity.normalize():f}"] for f in ctx.fitted]
        out.append(_table(rows, [100 * mm, 50 * mm, 20 * mm], st))
    if ctx.delivery is not None:
        d = ctx.delivery
        out.append(para(_("Delivery"), st["h2"]))
        old_parts, state = _("Old parts handed over"), _("State of the car")
        handed = _("yes") if d.old_parts_handed_over else _("no")
        out.append(para(
            f"{old_parts}: {handed} · {state}: {d.car_state or '—'}", st["base"]))
    return out


def _qc_checks(order: Any) -> tuple[list[Any], int] | None:
    """The signed quality checks (self, peer, final QC, cleaning) and the rework count, when the inspections app is
    installed (its ``qc_state`` selector); None otherwise."""
    from django.apps import apps

    if not apps.is_installed("aftersales.inspections"):
        return None
    from aftersales.inspections.selectors import qc_state

    state = qc_state(order)
    return state.checks, state.reworks


def _qc_report(ctx: Context, st: dict[str, ParagraphStyle]) -> list[Any]:
    out = _header(ctx, _("Quality check report"), st)
    signed = _qc_checks(ctx.order)
    if signed is not None and signed[0]:
        checks, reworks = signed
        rows = [[_("Check"), _("Round"), _("Result"), _("By"), _("At"), _("Note")]]
        for c in checks:
            rows.append([c.get_kind_display(), str(c.cycle), c.get_result_display(), str(c.signed_by),
                         _local(c.signed_at, ctx.order), c.notes])
        out.append(_table(rows, [32 * mm, 14 * mm, 18 * mm, 28 * mm, 30 * mm, 48 * mm], st))
        out.append(para(_("Rework: %(n)s") % {"n": reworks}, st["small"]))
        out.append(Spacer(1, 3 * mm))
    out.append(para(_("Checks recorded on the jobs (technician finished, QC passed, rework)."), st["small"]))
    rows = [[_("Job"), _("Check"), _("By"), _("At"), _("Note")]]
    for e in ctx.qc_events:
        label = {"done": _("Work finished (self-check)"), "passed_qc": _("Final QC passed"), "rework": _("Rework")}[e.to_state]
        rows.append([job_title(e.job), label, str(e.actor or "—"), _local(e.at, ctx.order), str(e.reason)])
    if len(rows) == 1:
        rows.append([_("No quality checks were recorded on this order."), "", "", "", ""])
    out.append(_table(rows, [50 * mm, 35 * mm, 25 * mm, 30 * mm, 30 * mm], st))
    return out


def _warranty(ctx: Context, st: dict[str, ParagraphStyle]) -> list[Any]:
    out = _header(ctx, _("Parts warranty cards"), st)
    if not ctx.fitted:
        out.append(para(_("No parts with traceability were fitted on this order."), st["base"]))
    for f in ctx.fitted:
        rows = [
            [_("Part"), f"{f.part.name_zh} / {f.part.name_en}", _("Part no."), f.part.number],
            [_("Batch / serial"), f.batch.number if f.batch else "—", _("Origin"), f.origin or "—"],
            [_("Production date"), f.production_date.isoformat() if f.production_date else "—", _("Fitted on"), _local(f.issued_at, ctx.order, "%Y-%m-%d")],
            [_("Warranty until"), f.warranty_until.isoformat() if f.warranty_until else "—",
             _("or up to"), f"{f.warranty_until_km} km" if f.warranty_until_km else "—"],
        ]
        out += [_table(rows, [28 * mm, 60 * mm, 25 * mm, 57 * mm], st, header=False), Spacer(1, 3 * mm)]
    return out


def _invoice(ctx: Context, st: dict[str, ParagraphStyle]) -> list[Any]:
    inv = ctx.invoice
    out = _header(ctx, _("Invoice"), st)
    if inv is None:
        out.append(para(_("No invoice has been issued for this order yet."), st["base"]))
        return out
    number_label, issued_label = _("Invoice number"), _("Issued")
    out.append(para(f"{number_label}: {inv.number} · {issued_label}: {_local(inv.issued_at, ctx.order)}", st["base"]))
    rows = [[_("Job"), _("Item"), _("Qty"), _("Unit price"), _("Discount"), _("Amount")]]
    free = _("no charge")
    for line in inv.lines.all():
        title = guide_name(line.job_title, None)  # in the document's language when written in both
        job = f"{title} ({free})" if line.no_charge else title
        rows.append([job, f"{one_language(line.description)} {line.code}", f"{line.quantity.normalize():f}", _money(line.unit_price), _money(line.discount), _money(line.amount)])
    out.append(_table(rows, [40 * mm, 55 * mm, 12 * mm, 22 * mm, 20 * mm, 23 * mm], st))
    rows = [
        [_("Subtotal"), _money(inv.subtotal)], [_("Discount"), _money(inv.discount)],
        [_("Total (VAT included)"), _money(inv.total)], [_("of which VAT"), _money(inv.tax)],
    ]
    if inv.insurer_amount:  # an insured repair: the insurer's part apart, the customer pays their share
        rows += [[_("Paid by the insurer (%(insurer)s)") % {"insurer": one_language(inv.insurer_name)}, _money(inv.insurer_amount)],
                 [_("The customer's share"), _money(inv.customer_share)]]
    credit_label = _("Credit note")
    rows += [[f"{credit_label} {cn.number}", _money(cn.total)] for cn in inv.credit_notes.all()]
    rows += [[f"{p.get_method_display()} {p.reference}", _money(p.amount)] for p in inv.payments.all()]
    if inv.refunded_amount:
        rows.append([_("Refunded"), _money(-inv.refunded_amount)])
    rows.append([_("Balance"), _money(inv.balance)])
    out += [Spacer(1, 3 * mm), _table(rows, [120 * mm, 52 * mm], st, header=False)]
    return out


def booking_link(order: Any) -> str:
    """Where the card's QR code and link lead: the store's booking page for this car (the customer portal's
    ``/book/<store>/?v=<car>``, the same link as the care reminders')."""
    from django.conf import settings

    return f"{settings.AFTERSALES_PUBLIC_URL.rstrip('/')}/book/{order.store.code}/?v={order.vehicle_id}"


def _qr(value: str, size: float) -> Any:
    from reportlab.graphics.barcode.qr import QrCodeWidget
    from reportlab.graphics.shapes import Drawing

    widget = QrCodeWidget(value, barLevel="M")
    x0, y0, x1, y1 = widget.getBounds()
    drawing = Drawing(size, size, transform=[size / (x1 - x0), 0, 0, size / (y1 - y0), 0, 0], initialFontName=cjk_font())
    drawing.add(widget)
    return drawing


def _reminder(ctx: Context, st: dict[str, ParagraphStyle]) -> list[Any]:
    from .services import next_maintenance

    o = ctx.order
    if ctx.delivery is not None and ctx.delivery.next_service_date:
        when, km = ctx.delivery.next_service_date, ctx.delivery.next_service_km
    else:
        when, km = next_maintenance(o, timezone.localtime(o.delivered_at or timezone.now(), o.store.zone).date())
    link = booking_link(o)
    text = [
        para(f"{o.customer.name} · {o.vehicle.plate or o.vehicle.vin}", st["base"]),
        Spacer(1, 2 * mm),
        para(_("Next maintenance: %(date)s") % {"date": when.isoformat()}, st["h2"]),
        para(_("or at %(km)s km") % {"km": f"{km:,}"} if km else "", st["h2"]),
        para(_("whichever comes first"), st["small"]),
        Spacer(1, 2 * mm),
        para(_("Book: scan the code or open %(link)s") % {"link": link}, st["small"]),
        para(_("Phone: %(phone)s") % {"phone": o.store.phone or "—"}, st["base"]),
    ]
    qr_size = 30 * mm
    body = Table([[text, [_qr(link, qr_size), para(_("Scan to book"), st["small"])]]],
                 colWidths=[96 * mm, qr_size + 4 * mm])
    body.setStyle(table_style([("VALIGN", (0, 0), (-1, -1), "TOP"), ("LEFTPADDING", (0, 0), (-1, -1), 0)]))
    return [
        para(_("Maintenance reminder card"), st["h1"]),
        body,
        Spacer(1, 2 * mm),
        para(f"{o.store.name} · {o.number}", st["small"]),
    ]


BUILDERS = {
    DocumentKind.REPAIR_LIST: _repair_list,
    DocumentKind.QC_REPORT: _qc_report,
    DocumentKind.WARRANTY: _warranty,
    DocumentKind.INVOICE: _invoice,
    DocumentKind.REMINDER: _reminder,
}


def render_document(*, order: Any, kind: str, language: str) -> bytes:
    """One delivery document of ``order`` as PDF in ``language`` (zh-hans or en)."""
    if kind not in BUILDERS or language not in LANGUAGES:
        raise ValueError(kind)
    buffer = io.BytesIO()
    with translation.override(language):
        st = _styles()
        ctx = _context(order)
        story = BUILDERS[DocumentKind(kind)](ctx, st)
        size = landscape(A6) if kind == DocumentKind.REMINDER else A4
        margin = 8 * mm if kind == DocumentKind.REMINDER else 15 * mm
        doc = SimpleDocTemplate(
            buffer, pagesize=size, leftMargin=margin, rightMargin=margin, topMargin=margin, bottomMargin=margin,
            title=f"{order.number} {DocumentKind(kind).label}", author=order.store.name,
            initialFontName=cjk_font(),  # the font every page starts with: ours, never a non-embedded Helvetica
        )
        doc.build(story)
    return buffer.getvalue()


def render_insurer_invoice(*, invoice: Any, language: str) -> bytes:
    """The invoice addressed to the insurer (保险直赔) as PDF in ``language``: the insurer, policy and claim numbers,
    the repair order and the customer's invoice it bills the insurer's part of, the amount, payments and balance."""
    if language not in LANGUAGES:
        raise ValueError(language)
    from .models import Invoice

    inv = Invoice.objects.select_related("store", "customer", "claim_of", "claim_of__order", "claim_of__order__vehicle").prefetch_related(
        "lines", "payments", "credit_notes").get(pk=invoice.pk)
    source = inv.claim_of
    order = source.order if source is not None else None
    buffer = io.BytesIO()
    with translation.override(language):
        st = _styles()
        zone = inv.store.zone
        issued = timezone.localtime(inv.issued_at, zone).strftime("%Y-%m-%d %H:%M")
        head = [
            [_("Bill to"), one_language(inv.insurer_name), _("Invoice number"), inv.number],
            [_("policy number"), inv.policy_number or "—", _("claim number"), inv.claim_number or "—"],
            [_("Insured"), inv.customer.name, _("Issued"), issued],
            [_("Repair order"), order.number if order else "—", _("Vehicle"),
             f"{order.vehicle.plate or ''} {order.vehicle.vin}" if order else "—"],
            [_("Store"), inv.store.name, _("The customer's invoice"), source.number if source else "—"],
        ]
        story: list[Any] = [para(_("Invoice to the insurer"), st["h1"]),
                            _table(head, [25 * mm, 60 * mm, 30 * mm, 55 * mm], st, header=False), Spacer(1, 4 * mm)]
        rows = [[_("Item"), _("Amount")]]
        rows += [[f"{one_language(line.job_title)} {line.code}", _money(line.amount)] for line in inv.lines.all()]
        story.append(_table(rows, [120 * mm, 52 * mm], st))
        rows = [[_("Total (VAT included)"), _money(inv.total)], [_("of which VAT"), _money(inv.tax)]]
        if source is not None:
            rows += [[_("Repair total"), _money(source.total)], [_("The customer's share"), _money(source.customer_share)]]
        credit_label = _("Credit note")
        rows += [[f"{credit_label} {cn.number}", _money(cn.total)] for cn in inv.credit_notes.all()]
        rows += [[f"{p.get_method_display()} {p.reference}", _money(p.amount)] for p in inv.payments.all()]
        if inv.refunded_amount:
            rows.append([_("Refunded"), _money(-inv.refunded_amount)])
        rows.append([_("Balance"), _money(inv.balance)])
        story += [Spacer(1, 3 * mm), _table(rows, [120 * mm, 52 * mm], st, header=False)]
        doc = SimpleDocTemplate(
            buffer, pagesize=A4, leftMargin=15 * mm, rightMargin=15 * mm, topMargin=15 * mm, bottomMargin=15 * mm,
            title=f"{inv.number}", author=inv.store.name, initialFontName=cjk_font(),
        )
        doc.build(story)
    return buffer.getvalue()
