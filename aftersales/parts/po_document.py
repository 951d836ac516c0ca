"""The purchase order as the supplier receives it: a PDF (the embedded CJK font of ``common.pdf``) in the
supplier's language (Chinese by default), attached to the e-mail "Send to supplier" queues in the outbox."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import override
from reportlab.lib.units import mm

from aftersales.common import pdf
from aftersales.common.money import q

from .models import PurchaseOrder

MESSAGE_KIND = "parts.purchase_order"


def po_total(order: PurchaseOrder) -> Decimal:
    return q(sum((line.quantity * line.unit_cost for line in order.lines.all()), Decimal("0")))


def _quantity(value: Decimal) -> str:
    text = f"{value.normalize():f}"
    return text


def po_pdf(order: PurchaseOrder, *, language: str = "zh-hans") -> bytes:
    """The purchase order's document: store and supplier, number and dates, every line with part number, name, OEM
    number, quantity, unit cost and amount, and the total."""
    order = (
        PurchaseOrder.objects.select_related("store", "supplier", "created_by").prefetch_related("lines__part")
        .get(pk=order.pk)
    )
    with override(language):
        st = pdf.styles(language)
        store, supplier = order.store, order.supplier
        created = timezone.localtime(order.created_at, store.zone).strftime("%Y-%m-%d")
        story: list[Any] = [
            pdf.para(_("Purchase order %(n)s") % {"n": order.number}, st["title"]),
            pdf.para(" · ".join(filter(None, [store.name, store.address, store.phone])), st["small"]),
            pdf.key_value_table([
                (_("Supplier"), " · ".join(filter(None, [supplier.name, supplier.contact, supplier.phone]))),
                (_("Ordered on"), created),
                (_("Deliver by"), order.expected_on.isoformat() if order.expected_on else "—"),
                (_("Deliver to"), " · ".join(filter(None, [store.name, store.address]))),
                (_("Ordered by"), str(order.created_by) if order.created_by else "—"),
            ], st),
            pdf.para(_("Lines"), st["h2"]),
        ]
        rows = []
        for n, line in enumerate(order.lines.all(), start=1):
            part = line.part
            name = part.name_zh if language.startswith("zh") or not part.name_en else part.name_en
            rows.append([str(n), part.number, name, part.oem_number or "—", _quantity(line.quantity), part.get_unit_display(),
                         f"¥{line.unit_cost:,.2f}", f"¥{q(line.quantity * line.unit_cost):,.2f}"])
        story.append(pdf.grid_table(
            ["#", _("Part number"), _("Name"), _("OEM number"), _("Quantity"), _("Unit"), _("Unit cost"), _("Amount")],
            rows, st, [8 * mm, 26 * mm, 42 * mm, 24 * mm, 16 * mm, 12 * mm, 22 * mm, 24 * mm],
        ))
        story.append(pdf.para(_("Total: ¥%(t)s (tax included)") % {"t": f"{po_total(order):,.2f}"}, st["h2"]))
        story.append(pdf.para(
            _("Please confirm this order and the delivery date by reply or by phone (%(phone)s), and quote the order "
              "number on the delivery note.") % {"phone": store.phone or "—"}, st["small"]))
        return pdf.build(story, title=_("Purchase order %(n)s") % {"n": order.number})


def po_attachments(message: Any) -> list[tuple[str, bytes, str]]:
    """The PDF the supplier's e-mail carries (registered with messaging.attachments for MESSAGE_KIND)."""
    order = PurchaseOrder.objects.get(pk=int(message.variables["purchase_order_id"]))
    return [(f"{order.number}.pdf", po_pdf(order, language=message.language), "application/pdf")]
