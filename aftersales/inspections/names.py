"""The checklists' bilingual item names, provided to ``common.names`` at start (``InspectionsConfig.ready``)."""

from __future__ import annotations

from .models import ChecklistItem


def checklist_name_pairs() -> dict[str, tuple[str, str]]:
    """{item name in either language: (Chinese, English)} of the checklist items written in both: one query."""
    names: dict[str, tuple[str, str]] = {}
    for zh, en in ChecklistItem.objects.exclude(name_en="").values_list("name_zh", "name_en").distinct():
        if zh and en and zh != en:
            names.setdefault(zh, (zh, en))
            names.setdefault(en, (zh, en))
    return names
