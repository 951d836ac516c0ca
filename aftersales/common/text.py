"""Small helpers for text shown to people in one language."""

from __future__ import annotations

import re

_CJK = re.compile(r"[\u3400-\u9fff]")


def has_cjk(text: str) -> bool:
    return bool(_CJK.search(text or ""))


def localized_name(name: str, language: str) -> str:
    """One language of a bilingual name written "广州天河店 / Guangzhou Tianhe" (either order): the part in Chinese
    for zh-hans, the other one for English. A name in one language only stays as it is."""
    parts = [p.strip() for p in (name or "").split(" / ") if p.strip()]
    if len(parts) < 2:
        return name
    chinese = [p for p in parts if has_cjk(p)]
    other = [p for p in parts if not has_cjk(p)]
    if not chinese or not other:
        return name
    return other[0] if language.startswith("en") else chinese[0]
