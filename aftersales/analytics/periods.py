"""Reporting periods (day, week, month, quarter, year) in a store's local calendar."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.utils.translation import gettext_lazy as _

KINDS = ("day", "week", "month", "quarter", "year")
KIND_LABELS = {"day": _("Day"), "week": _("Week"), "month": _("Month"), "quarter": _("Quarter"), "year": _("Year")}


def add_months(day: dt.date, months: int) -> dt.date:
    import calendar

    index = day.year * 12 + (day.month - 1) + months
    year, month = divmod(index, 12)
    month += 1
    return dt.date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


@dataclass(frozen=True)
class Period:
    """``[start, end)`` in local dates."""

    kind: str
    start: dt.date

    @classmethod
    def containing(cls, kind: str, day: dt.date) -> Period:
        if kind not in KINDS:
            raise ValueError(kind)
        if kind == "day":
            return cls(kind, day)
        if kind == "week":
            return cls(kind, day - dt.timedelta(days=day.weekday()))
        if kind == "month":
            return cls(kind, day.replace(day=1))
        if kind == "quarter":
            return cls(kind, dt.date(day.year, 3 * ((day.month - 1) // 3) + 1, 1))
        return cls(kind, dt.date(day.year, 1, 1))

    @property
    def end(self) -> dt.date:
        return self.shift(1).start

    @property
    def days(self) -> int:
        return (self.end - self.start).days

    def shift(self, n: int) -> Period:
        if self.kind == "day":
            return Period(self.kind, self.start + dt.timedelta(days=n))
        if self.kind == "week":
            return Period(self.kind, self.start + dt.timedelta(days=7 * n))
        months = {"month": 1, "quarter": 3, "year": 12}[self.kind]
        return Period(self.kind, add_months(self.start, months * n))

    def previous(self) -> Period:
        return self.shift(-1)

    def bounds(self, zone: Any) -> tuple[dt.datetime, dt.datetime]:
        """The period as aware UTC datetimes in a time zone."""
        a = dt.datetime.combine(self.start, dt.time(0), tzinfo=zone).astimezone(dt.UTC)
        b = dt.datetime.combine(self.end, dt.time(0), tzinfo=zone).astimezone(dt.UTC)
        return a, b

    @property
    def label(self) -> str:
        if self.kind == "day":
            return self.start.isoformat()
        if self.kind == "week":
            iso = self.start.isocalendar()
            return f"{iso.year}-W{iso.week:02d}"
        if self.kind == "month":
            return f"{self.start:%Y-%m}"
        if self.kind == "quarter":
            return f"{self.start.year}-Q{(self.start.month - 1) // 3 + 1}"
        return str(self.start.year)

    @property
    def param(self) -> str:
        return self.start.isoformat()
