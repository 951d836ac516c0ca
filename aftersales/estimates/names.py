"""The labour guide's bilingual names, provided to ``common.names`` at start (``EstimatesConfig.ready``)."""

from __future__ import annotations

from .models import LabourOperation


def guide_name_pairs(*, store_id: int | None = None, order_id: int | None = None) -> dict[str, tuple[str, str]]:
    """{name in either language: (Chinese, English)} of the labour guide of a store's (or an order's) dealer group:
    one query."""
    where = {"group__stores__id": store_id} if order_id is None else {"group__stores__repair_orders__id": order_id}
    names: dict[str, tuple[str, str]] = {}
    for zh, en in LabourOperation.objects.filter(**where).order_by("code").values_list("name_zh", "name_en"):
        if zh and en:
            names.setdefault(zh, (zh, en))
            names.setdefault(en, (zh, en))
    return names
