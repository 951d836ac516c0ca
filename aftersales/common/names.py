"""Names in the reader's language (issue 16): a job's title, an option's label and a line's description were written
in the customer's language when the job was priced (or in both, "更换前刹车片 / Replace front brake pads"); shown to
someone reading the other language they come out in that one: the labour guide's or the part's other name, one half
of a bilingual name. Text a person typed in one language stays as written."""

from __future__ import annotations

from typing import Any

from aftersales.common.text import localized_name


def one_language(text: Any) -> str:
    from django.utils.translation import get_language

    return localized_name(str(text or ""), get_language() or "zh-hans")


def _english() -> bool:
    from django.utils.translation import get_language

    return (get_language() or "").startswith("en")


def _reads_right(text: str, english: bool) -> bool:
    """Whether ``text`` is already in the reader's language (Chinese for a Chinese reader, no Chinese for English)."""
    from aftersales.common.text import has_cjk

    return has_cjk(text) != english


def _guide_names(order: Any) -> dict[str, tuple[str, str]]:
    """{name in either language: (Chinese, English)} of the labour guide of the order's dealer group, loaded once per
    order object (one query per page) and only when a name must be turned into the other language."""
    names = getattr(order, "_guide_names", None)
    if names is None:
        from django.apps import apps

        names = {}
        if apps.is_installed("aftersales.estimates"):
            operation = apps.get_model("estimates", "LabourOperation")
            rows = operation.objects.filter(group__stores__id=order.store_id).order_by("code").values_list("name_zh", "name_en")
            for zh, en in rows:
                if zh and en:
                    names.setdefault(zh, (zh, en))
                    names.setdefault(en, (zh, en))
        order._guide_names = names
    return names


def _option_labels() -> dict[str, tuple[str, str]]:
    """The labels of a guide operation's two options ("原厂配件" / "OEM parts"), as written into a job's title."""
    from django.utils.translation import gettext, override

    labels: dict[str, tuple[str, str]] = {}
    for msgid in ("OEM parts", "Aftermarket parts"):
        with override("zh-hans"):
            zh = gettext(msgid)
        with override("en"):
            en = gettext(msgid)
        labels[zh] = labels[en] = (zh, en)
    return labels


def guide_name(text: Any, order: Any) -> str:
    """A job's title (or an option group's) in the reader's language: a name written in both languages shows one;
    a name taken from the labour guide in the customer's language at the time shows the guide's name in the
    reader's ("更换前刹车片 · 原厂配件" → "Replace front brake pads · OEM parts"); a name a person typed stays."""
    value = str(text or "")
    english = _english()
    base, sep, suffix = value.partition(" · ")
    base = one_language(base)
    if not _reads_right(base, english) and order is not None:
        pair = _guide_names(order).get(base)
        if pair is not None:
            base = pair[1] if english else pair[0]
    if sep:
        suffix = option_label(suffix)
        return f"{base}{sep}{suffix}"
    return base


def option_label(label: Any) -> str:
    """An option's label ("原厂配件", written in the customer's language at the time) in the reader's language."""
    text = str(label or "").strip()
    pair = _option_labels().get(text)
    return (pair[1] if _english() else pair[0]) if pair else one_language(text)


def job_title(job: Any) -> str:
    """{{ job|job_title }}: the job's title in the reader's language (see ``guide_name``)."""
    if job is None:
        return ""
    if isinstance(job, dict):  # a job as an estimate's version recorded it
        return guide_name(job.get("title", ""), None)
    return guide_name(job.title, getattr(job, "order", None))


def line_text(line: Any) -> str:
    """{{ line|line_text }}: a line's description in the reader's language: a part's line names the part by its name
    in that language, a labour line from the guide by the guide's name; a description a person typed stays."""
    if line is None:
        return ""
    text = one_language(line.description)
    english = _english()
    if _reads_right(text, english):
        return text
    if getattr(line, "part_id", None):
        part = line.part
        if line.description in (part.name_zh, part.name_en) or text in (part.name_zh, part.name_en):
            return (part.name_en or part.name_zh) if english else part.name_zh
        return text
    job = line._state.fields_cache.get("job")  # the job of job.lines.all(): its order is the page's, loaded once
    order = job.order if job is not None else line.order
    pair = _guide_names(order).get(text)
    if pair is not None:
        return pair[1] if english else pair[0]
    return text
