"""Names in the reader's language (issue 16): a job's title, an option's label and a line's description were written
in the customer's language when the job was priced (or in both, "更换前刹车片 / Replace front brake pads"); shown to
someone reading the other language they come out in that one: the labour guide's or the part's other name, one half
of a bilingual name. Text a person typed in one language stays as written."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from asgiref.local import Local
from django.core.signals import request_finished, request_started

from aftersales.common.text import localized_name

#: the labour guide's names per store, kept for one request (a board of 40 jobs loads them once); outside a request
#: (a task, a template rendered by hand) they are kept on the order object only
_per_request = Local()


def _request_began(**_kwargs: Any) -> None:
    _per_request.names = {}


def _request_ended(**_kwargs: Any) -> None:
    _per_request.names = None


#: the bilingual names the apps above provide at start (issue 19: common imports none of them), each in its
#: ``AppConfig.ready()``: estimates the labour guide's names ("guide": {name in either language: (Chinese, English)}
#: of the guide of a store's or an order's dealer group, called with ``store_id=`` or ``order_id=``), inspections the
#: checklists' item names ("checklist"), workshop the names of the parts on an order's lines ("order_parts": {part id:
#: (Chinese, English)}). An app not installed provides nothing: its names are left as written.
NamePairs = dict[str, tuple[str, str]]
_SOURCES: dict[str, Callable[..., Any]] = {}


def provide_guide_names(source: Callable[..., NamePairs]) -> None:
    """``source(store_id=…)`` or ``source(order_id=…)`` → the labour guide's names of that dealer group."""
    _SOURCES["guide"] = source


def provide_checklist_names(source: Callable[[], NamePairs]) -> None:
    """``source()`` → the inspection checklists' item names written in both languages."""
    _SOURCES["checklist"] = source


def provide_order_part_names(source: Callable[[int], dict[int, tuple[str, str]]]) -> None:
    """``source(order_id)`` → {part id: (Chinese, English)} of the parts on the order's lines."""
    _SOURCES["order_parts"] = source


request_started.connect(_request_began, dispatch_uid="common.names.request_started")
request_finished.connect(_request_ended, dispatch_uid="common.names.request_finished")


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


def _memo(key: tuple[Any, ...], load: Any) -> Any:
    """``load()``, kept for the rest of the request under ``key`` (outside a request, loaded each time)."""
    shared = getattr(_per_request, "names", None)
    if shared is None:
        return load()
    if key not in shared:
        shared[key] = load()
    return shared[key]


def _guide_rows(**where: int | None) -> dict[str, tuple[str, str]]:
    source = _SOURCES.get("guide")
    return source(**where) if source is not None else {}


def _guide_names(order: Any = None, order_id: int | None = None) -> dict[str, tuple[str, str]]:
    """{name in either language: (Chinese, English)} of the labour guide of the order's dealer group: one query per
    request (per store, or per order when only its id is at hand), and only when a name must change language."""
    if order is None:
        return _memo(("guide-order", order_id), lambda: _guide_rows(order_id=order_id))
    names = getattr(order, "_guide_names", None)
    shared = getattr(_per_request, "names", None)
    if names is None and shared is not None:
        names = shared.get(("guide-order", order.pk))
    if names is None:
        names = _memo(("guide-store", order.store_id), lambda: _guide_rows(store_id=order.store_id))
    if shared is not None:
        shared.setdefault(("guide-order", order.pk), names)
    order._guide_names = names
    return names


def _checklist_rows() -> dict[str, tuple[str, str]]:
    source = _SOURCES.get("checklist")
    return source() if source is not None else {}


#: a job proposed from an inspection before titles were written in both languages: "前刹车片厚度 (2 mm)"
_READING = re.compile(r"^(?P<name>.+?)(?P<reading> \([0-9.]+(?: [^()]*)?\))?$")


def _stock_name(base: str, english: bool) -> str | None:
    """An inspection item's name (and its reading) in the reader's language, when ``base`` is one of the checklists'
    item names in the other language (the stock phrases of the shipped checklists); None otherwise."""
    match = _READING.match(base)
    if match is None:
        return None
    pair = _memo(("checklist-names",), _checklist_rows).get(match["name"])
    if pair is None:
        return None
    return (pair[1] if english else pair[0]) + (match["reading"] or "")


def _cached(obj: Any, name: str) -> Any:
    """``obj.<name>`` when that related object is already loaded, else None (never a query)."""
    state = getattr(obj, "_state", None)
    return state.fields_cache.get(name) if state is not None else getattr(obj, name, None)


def _order_of(obj: Any) -> dict[str, Any] | None:
    """How to find the guide of a job's or line's order without loading it: the loaded order, else its id."""
    order = _cached(obj, "order")
    job = _cached(obj, "job")
    if order is None and job is not None:
        order = _cached(job, "order")
    if order is not None:
        return {"order": order}
    order_id = getattr(obj, "order_id", None)
    return {"order_id": order_id} if order_id is not None else None


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
    if not _reads_right(base, english):
        pair = None
        if order is not None:
            pair = (_guide_names(**order) if isinstance(order, dict) else _guide_names(order)).get(base)
        if pair is not None:
            base = pair[1] if english else pair[0]
        elif not sep:  # a job proposed from an inspection, titled in one language before issue 16
            base = _stock_name(base, english) or base
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
    return guide_name(job.title, _order_of(job))


def _order_parts(order_id: int) -> dict[int, tuple[str, str]]:
    """{part id: (Chinese name, English name)} of every part on the order's lines: one query per order and request."""
    source = _SOURCES.get("order_parts")
    return _memo(("parts", order_id), lambda: source(order_id) if source is not None else {})


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
        part = _cached(line, "part")
        zh, en = (part.name_zh, part.name_en) if part is not None else _order_parts(line.order_id).get(line.part_id, ("", ""))
        if zh and (line.description in (zh, en) or text in (zh, en)):
            return (en or zh) if english else zh
        return text
    where = _order_of(line)
    pair = _guide_names(**where).get(text) if where is not None else None
    if pair is not None:
        return pair[1] if english else pair[0]
    return text
