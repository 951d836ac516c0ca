"""The management reviews of SPEC §18 as Excel (xlsxwriter, streaming) and PDF (ReportLab):
monthly (waiting time, complaint rate), quarterly (CSAT, repurchase, NPS), yearly (after-sales profit share, churn).
Each figure beside its target, the previous period and the same period a year before, for the scope and each store."""

from __future__ import annotations

import io
from decimal import Decimal
from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from . import kpis
from .kpis import BY_CODE, Scope
from .models import KpiSettings

REVIEWS: dict[str, tuple[str, tuple[str, ...], Any]] = {
    "monthly": ("month", ("waiting", "complaint_rate"), gettext_lazy("Monthly review")),
    "quarterly": ("quarter", ("csat", "repurchase", "nps"), gettext_lazy("Quarterly review")),
    "yearly": ("year", ("profit_share", "churn"), gettext_lazy("Yearly review")),
}


def _fmt(kpi: kpis.Kpi, value: Decimal | None) -> str:
    if value is None:
        return "—"
    return {"%": f"{value}%", "min": _("%(n)s min") % {"n": value}}.get(kpi.unit, str(value))


def review_data(scope: Scope, name: str) -> dict[str, Any]:
    _kind, codes, title = REVIEWS[name]
    periods = {"current": scope.period, "previous": scope.period.previous(),
               "last_year": scope.period.shift({"month": -12, "quarter": -4, "year": -1}[scope.period.kind])}
    key = None if len(scope.stores) > 1 else scope.stores[0].pk
    rows = []
    for code in codes:
        kpi = BY_CODE[code]
        figures = {k: kpi.compute(scope.with_period(p)) for k, p in periods.items()}
        settings = scope.settings.get(key) if key is not None else KpiSettings()
        target = Decimal(getattr(settings or KpiSettings(), kpi.target)) if kpi.target else None
        value = kpi.value(*figures["current"].get(key, (0, 0)))
        rows.append({
            "kpi": kpi, "value": value, "target": target, "rag": kpis.rag(kpi, value, target),
            "previous": kpi.value(*figures["previous"].get(key, (0, 0))),
            "last_year": kpi.value(*figures["last_year"].get(key, (0, 0))),
            "stores": [(s, kpi.value(*figures["current"].get(s.pk, (0, 0)))) for s in scope.stores] if key is None else [],
        })
    return {"name": name, "title": str(title), "scope": scope, "periods": periods, "rows": rows, "is_group": key is None}


def _scope_name(data: dict[str, Any]) -> str:
    return _("Whole group") if data["is_group"] else data["scope"].stores[0].name


def _rag(value: str) -> str:
    return {"green": _("on target"), "amber": _("close to target"), "red": _("off target")}.get(value, "")


def _table(data: dict[str, Any]) -> tuple[list[str], list[list[str]]]:
    p = data["periods"]
    header = [_("Figure"), p["current"].label, _("Target"), _("Status"), p["previous"].label, p["last_year"].label]
    if data["is_group"]:
        header += [s.name for s in data["scope"].stores]
    rows = []
    for r in data["rows"]:
        kpi = r["kpi"]
        target = "—" if r["target"] is None else ("≤ " if kpi.better == "lower" else "≥ ") + _fmt(kpi, r["target"])
        row = [str(kpi.label), _fmt(kpi, r["value"]), target, _rag(r["rag"]), _fmt(kpi, r["previous"]), _fmt(kpi, r["last_year"])]
        row += [_fmt(kpi, v) for _s, v in r["stores"]]
        rows.append(row)
    return header, rows


def review_xlsx(data: dict[str, Any]) -> bytes:
    import xlsxwriter

    buffer = io.BytesIO()
    from aftersales.common.spreadsheets import XLSXWRITER_OPTIONS

    book = xlsxwriter.Workbook(buffer, {"in_memory": True, "constant_memory": True, **XLSXWRITER_OPTIONS})
    sheet = book.add_worksheet(data["periods"]["current"].label)
    bold = book.add_format({"bold": True})
    head = book.add_format({"bold": True, "bg_color": "#F0F0F0", "border": 1})
    cell = book.add_format({"border": 1})
    sheet.write(0, 0, f"{data['title']} · {_scope_name(data)} · {data['periods']['current'].label}", bold)
    header, rows = _table(data)
    for c, h in enumerate(header):
        sheet.write(2, c, h, head)
    for r, row in enumerate(rows, start=3):
        for c, value in enumerate(row):
            sheet.write(r, c, value, cell)
    sheet.write(4 + len(rows), 0, str(_("Definitions: docs/analytics.md; each figure drills down on the cockpit.")))
    sheet.set_column(0, 0, 26)
    sheet.set_column(1, len(header), 14)
    book.close()
    return buffer.getvalue()


def review_pdf(data: dict[str, Any], language: str) -> bytes:
    from reportlab.lib.units import mm

    from aftersales.common import pdf

    st = pdf.styles(language)
    header, rows = _table(data)
    width = 174 * mm
    widths = [width * 0.26] + [width * 0.74 / (len(header) - 1)] * (len(header) - 1)
    flow = [
        pdf.para(data["title"], st["title"]),
        pdf.para(f"{_scope_name(data)}  |  {data['periods']['current'].label}", st["small"]),
        pdf.grid_table(header, rows, st, widths),
    ]
    for r in data["rows"]:
        flow.append(pdf.para(f"{r['kpi'].label}: {r['kpi'].help}", st["small"]))
    return pdf.build(flow, title=data["title"])
