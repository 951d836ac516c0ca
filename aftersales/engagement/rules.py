"""SPEC §10 tier rules in plain Python: the reference the set-based SQL (tiersql.py) is tested against.

- months are calendar months: 6 months before 2026-08-31 is 2026-02-28 (the day is clamped to the month's end);
- "within N months" of D: on or after D − N months; "N months ago or more": on or before D − N months;
- "the last 12 months": after D − 12 months, up to and including D.
"""

from __future__ import annotations

import calendar
import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from .choices import Tier, TierReason

WINDOW_MONTHS = 12
ZERO = Decimal("0.00")


def months_before(day: dt.date, months: int) -> dt.date:
    """``day`` minus ``months`` calendar months, the day clamped to the target month's length."""
    index = day.year * 12 + (day.month - 1) - months
    year, month = divmod(index, 12)
    month += 1
    return dt.date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


@dataclass(frozen=True)
class Thresholds:
    a_recency_months: int = 3
    a_min_visits: int = 4
    a_min_amount: Decimal = Decimal("15000.00")
    c_new_months: int = 1
    d_lapsed_months: int = 6
    vip_percent: int = 10
    key_percent: int = 20
    insurance_days: int = 30

    @classmethod
    def of(cls, settings_row: object | None) -> Thresholds:
        if settings_row is None:
            return cls()
        return cls(**{name: getattr(settings_row, name) for name in cls.__dataclass_fields__})


DEFAULTS = Thresholds()


@dataclass(frozen=True)
class Cutoffs:
    as_of: dt.date
    window_after: dt.date  # F and M count visits strictly after this date
    a_since: dt.date  # A: last visit on or after
    c_since: dt.date  # C: the only visit on or after
    d_on_or_before: dt.date  # D: last visit (or purchase without a visit) on or before

    @classmethod
    def of(cls, as_of: dt.date, t: Thresholds) -> Cutoffs:
        return cls(
            as_of=as_of,
            window_after=months_before(as_of, WINDOW_MONTHS),
            a_since=months_before(as_of, t.a_recency_months),
            c_since=months_before(as_of, t.c_new_months),
            d_on_or_before=months_before(as_of, t.d_lapsed_months),
        )


@dataclass(frozen=True)
class TierResult:
    tier: str
    reason: str
    as_of: dt.date
    last_visit: dt.date | None
    f: int
    m: Decimal
    visits_total: int

    @property
    def r_days(self) -> int | None:
        return (self.as_of - self.last_visit).days if self.last_visit else None


def decide(
    *,
    as_of: dt.date,
    visits: Iterable[tuple[dt.date, Decimal]],
    purchase_dates: Iterable[dt.date | None] = (),
    thresholds: Thresholds = DEFAULTS,
) -> TierResult:
    """The tier as of ``as_of`` from the customer's paid visits (local date, net amount paid) and car purchases.

    Visits after ``as_of`` and visits with nothing paid (net of refunds) do not count.
    """
    cut = Cutoffs.of(as_of, thresholds)
    counted = [(day, amount) for day, amount in visits if day <= as_of and amount > 0]
    last = max((day for day, _ in counted), default=None)
    in_window = [amount for day, amount in counted if day > cut.window_after]
    f, m, total = len(in_window), sum(in_window, ZERO), len(counted)
    if last is not None and last <= cut.d_on_or_before:
        tier, reason = Tier.D, TierReason.LAPSED
    elif last is None and any(p is not None and p <= cut.d_on_or_before for p in purchase_dates):
        tier, reason = Tier.D, TierReason.BOUGHT_NEVER_VISITED
    elif last is not None and last >= cut.a_since and f >= thresholds.a_min_visits and m >= thresholds.a_min_amount:
        tier, reason = Tier.A, TierReason.LOYAL
    elif last is None:
        tier, reason = Tier.C, TierReason.NO_VISIT
    elif total == 1 and last >= cut.c_since:
        tier, reason = Tier.C, TierReason.FIRST_VISIT
    else:
        tier, reason = Tier.B, TierReason.ACTIVE
    return TierResult(tier=str(tier), reason=str(reason), as_of=as_of, last_visit=last, f=f, m=m, visits_total=total)
