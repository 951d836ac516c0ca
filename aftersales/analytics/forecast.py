"""Workshop demand forecast (SPEC §18, issue 18): repair orders, labour hours and jobs per service type, per store and
local day, for the coming weeks; shown beside the store's capacity (technician shift hours and bay hours from the
appointments app) so the manager sees the days over capacity.

The maths (:func:`forecast_series`) is pure: a daily series in, a forecast and its back-test out. The method is
picked by the history available and checked against a seasonal-naive baseline on a held-out period:

* ``naive`` — seasonal naive: the same weekday of the last observed week. Always the baseline; the only method with
  less than :data:`MIN_MODEL_DAYS` of history.
* ``ets`` — Holt-Winters exponential smoothing (statsmodels ``ExponentialSmoothing``) with an additive weekly season,
  fitted on the series with Chinese public holidays and make-up working days (调休, from the ``chinese-calendar``
  package) taken out as multiplicative day factors learnt from the history, then put back on the forecast days. With
  a year of history or more it adds a damped trend and month-of-year factors (A/C in summer, batteries in winter).

Back-test: the last :data:`HOLDOUT_DAYS` days are held out, both methods are fitted on the days before and scored
by MAE and MAPE (over days with demand). The model is used only where its MAE beats the baseline's; the screen
shows which one was used and both errors. Days the store is closed (its own calendar) are forecast as zero.
"""

from __future__ import annotations

import datetime as dt
import functools
import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

SEASON = 7
HOLDOUT_DAYS = 28
MIN_MODEL_DAYS = 8 * 7  # at least four weeks to fit after the four held out
YEAR_DAYS = 364

# day kinds from the national calendar
WORKDAY, WEEKEND, HOLIDAY, MAKEUP, UNKNOWN = "workday", "weekend", "holiday", "makeup", "unknown"


@functools.lru_cache(maxsize=8192)
def day_kind(day: dt.date) -> str:
    """The national calendar's kind of a day: a public holiday on a weekday, a make-up working day (调休) on a
    weekend, an ordinary workday or weekend; ``unknown`` past the years the installed calendar knows (then the
    weekday alone decides and the forecast says so)."""
    import chinese_calendar

    try:
        working = chinese_calendar.is_workday(day)
    except NotImplementedError:
        return UNKNOWN
    weekend = day.weekday() >= 5
    if working:
        return MAKEUP if weekend else WORKDAY
    return WEEKEND if weekend else HOLIDAY


def holiday_name(day: dt.date) -> str:
    import chinese_calendar

    try:
        is_holiday, name = chinese_calendar.get_holiday_detail(day)
    except NotImplementedError:
        return ""
    return str(name) if is_holiday and name else ""


@dataclass
class Backtest:
    method: str
    mae: float | None
    mape: float | None


@dataclass
class SeriesForecast:
    """A forecast of one daily series: ``values`` for the ``days`` asked, the method used and both back-tests."""

    days: list[dt.date]
    values: list[float]
    method: str  # "ets" or "naive"
    model: Backtest | None  # None: not enough history to fit a model
    baseline: Backtest | None  # None: not enough history to back-test at all
    history_days: int
    unknown_calendar_days: int = 0
    factors: dict[str, float] = field(default_factory=dict)


def errors(actual: Sequence[float], predicted: Sequence[float]) -> tuple[float, float | None]:
    """MAE over every day, MAPE (%) over the days with demand (None when there is none)."""
    mae = sum(abs(a - p) for a, p in zip(actual, predicted, strict=True)) / max(len(actual), 1)
    pct = [abs(a - p) / a for a, p in zip(actual, predicted, strict=True) if a > 0]
    return mae, (sum(pct) / len(pct) * 100 if pct else None)


def seasonal_naive(history: Sequence[float], horizon: int) -> list[float]:
    """The last observed week repeated."""
    if not history:
        return [0.0] * horizon
    last = list(history[-SEASON:])
    if len(last) < SEASON:
        mean = sum(last) / len(last)
        return [mean] * horizon
    return [float(last[i % SEASON]) for i in range(horizon)]


def _factors(days: Sequence[dt.date], values: Sequence[float], kinds: Sequence[str], with_months: bool) -> dict[str, float]:
    """Multiplicative factors of holidays and make-up days against the same weekday's ordinary level within ±3 weeks,
    and (``with_months``) of each calendar month against the whole history's mean. 1.0 where the history has none."""
    out: dict[str, float] = {}
    index = {d: i for i, d in enumerate(days)}
    for kind in (HOLIDAY, MAKEUP):
        ratios = []
        for i, d in enumerate(days):
            if kinds[i] != kind:
                continue
            ref = [values[index[d + dt.timedelta(days=7 * k)]] for k in (-3, -2, -1, 1, 2, 3)
                   if (d + dt.timedelta(days=7 * k)) in index and kinds[index[d + dt.timedelta(days=7 * k)]] in (WORKDAY, WEEKEND, UNKNOWN)]
            if ref and sum(ref) > 0:
                ratios.append(values[i] / (sum(ref) / len(ref)))
        out[kind] = min(max(sum(ratios) / len(ratios), 0.0), 5.0) if ratios else 1.0
    if with_months:
        mean = sum(values) / len(values) if values else 0
        for month in range(1, 13):
            vals = [v for d, v in zip(days, values, strict=True) if d.month == month]
            out[f"m{month}"] = (sum(vals) / len(vals) / mean) if vals and mean > 0 else 1.0
    return out


def _factor(day: dt.date, kind: str, factors: dict[str, float]) -> float:
    f = factors.get(kind, 1.0) if kind in (HOLIDAY, MAKEUP) else 1.0
    f *= factors.get(f"m{day.month}", 1.0)
    return f if f > 0.05 else 0.05


def ets_forecast(days: Sequence[dt.date], history: Sequence[float], future: Sequence[dt.date]) -> tuple[list[float], dict[str, float]]:
    """Holt-Winters on the calendar-adjusted series, the factors put back on the forecast days."""
    from statsmodels.tsa.holtwinters import ExponentialSmoothing

    kinds = [day_kind(d) for d in days]
    long = len(history) >= YEAR_DAYS
    factors = _factors(days, history, kinds, with_months=long)
    adjusted = [v / _factor(d, k, factors) for d, v, k in zip(days, history, kinds, strict=True)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # convergence chatter on flat series
        model = ExponentialSmoothing(
            adjusted, trend="add" if long else None, damped_trend=long, seasonal="add", seasonal_periods=SEASON,
            initialization_method="heuristic",
        ).fit(optimized=True, use_brute=False)
        raw = model.forecast(len(future))
    values = []
    for d, v in zip(future, raw, strict=True):
        v = float(v)
        if math.isnan(v):
            v = 0.0
        values.append(max(0.0, v * _factor(d, day_kind(d), factors)))
    return values, factors


def forecast_series(days: Sequence[dt.date], history: Sequence[float], future: Sequence[dt.date]) -> SeriesForecast:
    """Forecast ``future`` days (consecutive, after the history, maybe with a gap such as today) from a complete daily
    ``history`` (``days`` consecutive, oldest first)."""
    result = _forecast_from_end(days, history, _span(days, future))
    gap = len(result.days) - len(future)
    result.days, result.values = list(future), result.values[gap:]
    result.unknown_calendar_days = sum(1 for d in future if day_kind(d) == UNKNOWN)
    return result


def _span(days: Sequence[dt.date], future: Sequence[dt.date]) -> list[dt.date]:
    """The days from the one after the history to the last future day (the gap, e.g. today, is forecast and dropped)."""
    first = days[-1] + dt.timedelta(days=1) if days else future[0]
    return [first + dt.timedelta(days=i) for i in range((future[-1] - first).days + 1)]


def _forecast_from_end(days: Sequence[dt.date], history: Sequence[float], future: Sequence[dt.date]) -> SeriesForecast:
    n = len(history)
    if n < SEASON + HOLDOUT_DAYS:
        return SeriesForecast(list(future), seasonal_naive(history, len(future)), "naive", None, None, n)
    train_days, train, actual = days[:-HOLDOUT_DAYS], history[:-HOLDOUT_DAYS], history[-HOLDOUT_DAYS:]
    base_mae, base_mape = errors(actual, seasonal_naive(train, HOLDOUT_DAYS))
    baseline = Backtest("naive", base_mae, base_mape)
    if n < MIN_MODEL_DAYS:
        return SeriesForecast(list(future), seasonal_naive(history, len(future)), "naive", None, baseline, n)
    predicted, _f = ets_forecast(train_days, train, days[-HOLDOUT_DAYS:])
    mae, mape = errors(actual, predicted)
    model = Backtest("ets", mae, mape)
    if mae < base_mae:
        values, factors = ets_forecast(days, history, future)
        return SeriesForecast(list(future), values, "ets", model, baseline, n, 0, factors)
    return SeriesForecast(list(future), seasonal_naive(history, len(future)), "naive", model, baseline, n)


# ---- the store's history and capacity (database reads) --------------------------------------------------------
def store_history(store: Any, first: dt.date, last: dt.date) -> dict[str, dict[dt.date, float]]:
    """Daily demand of a store from ``first`` to ``last`` (local dates, inclusive): ``orders`` (repair orders checked
    in, not cancelled), ``hours`` (standard hours of the jobs on them, declined jobs left out) and ``type:<job type>``
    (jobs of each type). Two grouped queries."""
    from django.db.models import Count, Sum
    from django.db.models.functions import TruncDate

    from aftersales.workshop.models import RepairJob, RepairOrder

    zone = store.zone
    a = dt.datetime.combine(first, dt.time.min, tzinfo=zone)
    b = dt.datetime.combine(last + dt.timedelta(days=1), dt.time.min, tzinfo=zone)
    out: dict[str, dict[dt.date, float]] = {"orders": {}, "hours": {}}
    orders = (RepairOrder.objects.filter(store=store, opened_at__gte=a, opened_at__lt=b).exclude(status="cancelled")
              .annotate(day=TruncDate("opened_at", tzinfo=zone)).order_by().values("day").annotate(n=Count("id")))
    for row in orders:
        out["orders"][row["day"]] = float(row["n"])
    jobs = (RepairJob.objects.filter(order__store=store, order__opened_at__gte=a, order__opened_at__lt=b)
            .exclude(order__status="cancelled").exclude(status="declined")
            .annotate(day=TruncDate("order__opened_at", tzinfo=zone)).order_by()
            .values("day", "job_type").annotate(n=Count("id"), h=Sum("standard_hours")))
    for row in jobs:
        out.setdefault(f"type:{row['job_type']}", {})[row["day"]] = float(row["n"])
        out["hours"][row["day"]] = out["hours"].get(row["day"], 0.0) + float(row["h"] or 0)
    return out


def store_capacity(store: Any, first: dt.date, days: int) -> dict[dt.date, dict[str, float]]:
    """Per local day: whether the store opens (its own calendar), technician shift hours (within opening time) and bay
    hours (active bays × opening hours), from the appointments app's capacity plan."""
    from aftersales.appointments.availability import Capacity

    cap = Capacity(store, first, days, skill="")
    out: dict[dt.date, dict[str, float]] = {}
    for day, plan in cap.plans.items():
        open_seconds = sum(e - s for s, e in plan.periods)
        tech = 0
        for intervals in plan.shifts.values():
            for s, e in intervals:
                tech += sum(max(0, min(e, pe) - max(s, ps)) for ps, pe in plan.periods)
        out[day] = {"open": bool(plan.periods), "tech_hours": tech / 3600, "bay_hours": open_seconds * len(plan.bays) / 3600}
    return out
