"""The names of the parts on an order's lines, provided to ``common.names`` at start (``WorkshopConfig.ready``)."""

from __future__ import annotations

from .models import RepairLine


def order_part_names(order_id: int) -> dict[int, tuple[str, str]]:
    """{part id: (Chinese name, English name)} of every part on the order's lines: one query."""
    rows = RepairLine.objects.filter(order_id=order_id, part__isnull=False).values_list("part_id", "part__name_zh", "part__name_en")
    return {pk: (zh or "", en or "") for pk, zh, en in rows}
