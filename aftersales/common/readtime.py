"""Text stored as a code and its parameters, rendered when read, in the reader's language (issue 16).

A service that records a reason or a note of its own ("Work started", "Invoice INV-2026-0042", "Points earned …
expired on …") does not store that sentence in the language of whoever happened to trigger it: it stores
``coded(gettext_noop("Invoice %(n)s"), n=number)``, a small JSON text (``{"_t": "Invoice %(n)s", "n": "INV-…"}``).
The columns that hold such text are :class:`ReadTimeCharField` / :class:`ReadTimeTextField`: read from the database
(or set on an instance) a coded value becomes a :class:`ReadTimeText`, a ``str`` whose content is the sentence in the
language active when it was read and whose ``str()`` renders it again in the language active then (a message rendered
for its recipient, ``override("en")``). What a person typed, and rows written before the codes, stay as written.

Parameters may be plain values (numbers, dates as ISO text), a name written in both languages ("广州天河店 /
Guangzhou Tianhe", shown in the reader's language), a pair ``{"zh": …, "en": …}`` (a part's two names, see
:func:`names_pair`) or another coded text. The columns keep the plain ``CharField`` in migrations (``deconstruct``):
the stored text is still text.
"""

from __future__ import annotations

import json
from typing import Any

from django.db import models
from django.db.models.query_utils import DeferredAttribute

MARK = '{"_t":'


def _plain(value: Any) -> Any:
    if isinstance(value, ReadTimeText):
        return json.loads(value.code)
    if isinstance(value, str) and value.startswith(MARK):
        try:
            return json.loads(value)
        except ValueError:
            return value
    if isinstance(value, dict):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return value
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return "" if value is None else str(value)


def coded(msgid: str, context: str | None = None, **params: Any) -> str:
    """The stored form of ``gettext(msgid) % params`` (``pgettext(context, msgid)`` with a context). Mark the msgid
    for the catalogue with ``gettext_noop`` at the call."""
    data: dict[str, Any] = {"_t": str(msgid)}
    if context:
        data["_c"] = context
    data.update({key: _plain(value) for key, value in params.items()})
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"))


def coded_label(label: Any) -> str:
    """A choice's label (``gettext_lazy`` / ``pgettext_lazy``) stored as a code: ``coded_label(SignedVia.SCREEN.label)``."""
    args = getattr(label, "_args", None)
    if args and len(args) == 1:
        return coded(str(args[0]))
    if args and len(args) == 2:
        return coded(str(args[1]), context=str(args[0]))
    return str(label)


def names_pair(zh: str, en: str) -> dict[str, str]:
    """A parameter that is a name in two languages (a part's name_zh / name_en)."""
    return {"zh": zh or "", "en": en or ""}


def in_both(render_name: Any, *args: Any) -> dict[str, str]:
    """A parameter that is a name as ``render_name(*args)`` gives it in Chinese and in English (a job's title through
    the labour guide), worked out when the text is written."""
    from django.utils.translation import override

    with override("zh-hans"):
        zh = str(render_name(*args))
    with override("en"):
        en = str(render_name(*args))
    return names_pair(zh, en)


def is_coded(value: Any) -> bool:
    return isinstance(value, ReadTimeText) or (isinstance(value, str) and value.startswith(MARK))


def _english() -> bool:
    from django.utils.translation import get_language

    return (get_language() or "zh-hans").startswith("en")


def _param(value: Any) -> Any:
    from aftersales.common.names import one_language

    if isinstance(value, dict):
        if "_t" in value:
            return _render(value)
        zh, en = value.get("zh") or "", value.get("en") or ""
        return (en or zh) if _english() else (zh or en)
    if isinstance(value, str):
        return one_language(value)
    return value


def _render(data: dict[str, Any]) -> str:
    from django.utils.translation import gettext, pgettext

    msgid = str(data.get("_t", ""))
    text = pgettext(data["_c"], msgid) if data.get("_c") else gettext(msgid)
    params = {key: _param(value) for key, value in data.items() if not key.startswith("_")}
    if not params:
        return text
    try:
        return text % params
    except (KeyError, TypeError, ValueError):
        return msgid % params if "%(" in msgid else msgid


def render(value: Any) -> str:
    """A stored text in the active language: a coded one rendered, any other as it is."""
    raw = value.code if isinstance(value, ReadTimeText) else value
    if not isinstance(raw, str) or not raw.startswith(MARK):
        return "" if raw is None else str(raw)
    try:
        data = json.loads(raw)
    except ValueError:
        return raw
    return _render(data) if isinstance(data, dict) else raw


class ReadTimeText(str):
    """A coded text as read: its content is the rendering in the language active when it was read (what JSON and
    ``==`` see); ``str()`` and ``format()`` render it in the language active now. ``raw`` is what is stored."""

    raw: str
    code: str

    def __new__(cls, raw: str, code: str | None = None) -> ReadTimeText:
        obj = super().__new__(cls, render(code or raw))
        obj.raw = raw  # what is stored (saved again, the row keeps it)
        obj.code = code or raw  # what is rendered
        return obj

    def __str__(self) -> str:
        return render(self.code)

    def __format__(self, spec: str) -> str:
        return format(render(self.code), spec)

    def __html__(self) -> str:
        from django.utils.html import escape

        return str(escape(render(self.code)))

    def __reduce__(self) -> Any:
        return (ReadTimeText, (self.raw, self.code))


#: the fixed sentences services stored as words before they stored codes: a row written then ("开始检测", "Work
#: started") is read as the code it stands for, so old timelines read in the reader's language too (no migration)
LEGACY = (
    "Additional work to approve", "Answered by phone", "Answered through the survey link", "Appointment cancelled",
    "Appointment rescheduled", "Approved by phone", "Cancelled by the customer online", "Cancelled by the customer",
    "Cancelled by the owner in the app", "Checked in at the store", "Customer arrived",
    "Customer told the feedback was received", "Declined by the crew", "Declined by the customer", "Delivered and paid",
    "Excel import", "Final QC passed", "Final QC", "From requisitions", "History import", "Inspection started",
    "Message queued by the daily sweep", "New link requested", "No answer after the last attempt", "No-show",
    "Personal data export", "Quality checks and cleaning passed", "Re-run by an operator",
    "Rescheduled by the customer online", "Resolution reported to the customer", "Sheet changed after the link was sent",
    "Signed on the courtesy car return contract", "Walk-in", "Work started",
    # a feedback case's SLA warnings and escalations named their timer in the sweep's language
    "Acknowledge", "Contact the customer", "Resolve and report to the customer", "Assess and tell the customer",
    "Recovery call",
)
_legacy: dict[str, str] = {}


def _legacy_code(value: str) -> str | None:
    """The code of a fixed sentence stored as words (in either language), else None."""
    if not _legacy:
        from django.utils.translation import gettext, override

        for msgid in LEGACY:
            _legacy[msgid] = msgid
            with override("zh-hans"):
                _legacy.setdefault(gettext(msgid), msgid)
    msgid = _legacy.get(value)
    return coded(msgid) if msgid else None


def read_time(value: Any) -> Any:
    """``value`` as it is read: a coded text (or a fixed sentence stored as words before the codes) as a
    :class:`ReadTimeText`, anything else unchanged."""
    if not isinstance(value, str) or isinstance(value, ReadTimeText):
        return value
    if value.startswith(MARK):
        return ReadTimeText(value)
    if 0 < len(value) <= 60:
        legacy = _legacy_code(value)
        if legacy is not None:
            return ReadTimeText(value, legacy)
    return value


def stored(value: Any) -> Any:
    """``value`` as it is stored (a :class:`ReadTimeText` back to its code)."""
    return value.raw if isinstance(value, ReadTimeText) else value


class _ReadTimeAttribute(DeferredAttribute):
    """Set on an instance, a coded text becomes a :class:`ReadTimeText` at once (an event just created shows words)."""

    def __set__(self, instance: Any, value: Any) -> None:
        instance.__dict__[self.field.attname] = read_time(value)


class _ReadTime:
    descriptor_class = _ReadTimeAttribute

    def from_db_value(self, value: Any, expression: Any, connection: Any) -> Any:
        return read_time(value)

    def get_prep_value(self, value: Any) -> Any:
        return super().get_prep_value(stored(value))  # type: ignore[misc]

    def deconstruct(self) -> Any:
        name, _path, args, kwargs = super().deconstruct()  # type: ignore[misc]
        return name, self._plain_path, args, kwargs


class ReadTimeCharField(_ReadTime, models.CharField):
    """A ``CharField`` whose coded texts are rendered when read (migrations see a ``CharField``)."""

    _plain_path = "django.db.models.CharField"


class ReadTimeTextField(_ReadTime, models.TextField):
    """A ``TextField`` whose coded texts are rendered when read (migrations see a ``TextField``)."""

    _plain_path = "django.db.models.TextField"
