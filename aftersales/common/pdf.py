"""PDF documents in Chinese and English with ReportLab.

Chinese text uses ReportLab's built-in CID font STSong-Light (no font file to ship, and the text stays extractable:
pypdf reads it back), English uses Helvetica; one paragraph style set per language.
"""

from __future__ import annotations

import io
from typing import Any

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.platypus import Paragraph, SimpleDocTemplate, Table, TableStyle

CJK_FONT = "STSong-Light"


def cjk_font() -> str:
    """The CJK font's name, registered with ReportLab once per process (every document module uses this one)."""
    if CJK_FONT not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(UnicodeCIDFont(CJK_FONT))
    return CJK_FONT


def styles(language: str) -> dict[str, ParagraphStyle]:
    # Chinese pages also print names, plates and addresses in Chinese; so does an English page for a Chinese store.
    font = cjk_font()
    base = ParagraphStyle("body", fontName=font, fontSize=9.5, leading=13, wordWrap="CJK")
    return {
        "title": ParagraphStyle("title", parent=base, fontSize=16, leading=20, spaceAfter=4),
        "h2": ParagraphStyle("h2", parent=base, fontSize=11.5, leading=15, spaceBefore=8, spaceAfter=3),
        "body": base,
        "small": ParagraphStyle("small", parent=base, fontSize=8, leading=10, textColor=colors.HexColor("#555555")),
    }


def escape(text: Any) -> str:
    from xml.sax.saxutils import escape as xml_escape

    return xml_escape("" if text is None else str(text)).replace("\n", "<br/>")


def para(text: Any, style: ParagraphStyle) -> Paragraph:
    return Paragraph(escape(text), style)


def key_value_table(rows: list[tuple[Any, Any]], st: dict[str, ParagraphStyle], widths: tuple[float, float] = (38 * mm, 132 * mm)) -> Table:
    table = Table([[para(k, st["small"]), para(v, st["body"])] for k, v in rows], colWidths=list(widths))
    table.setStyle(TableStyle([
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("LINEBELOW", (0, 0), (-1, -1), 0.25, colors.HexColor("#dddddd")),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 3),
        ("TOPPADDING", (0, 0), (-1, -1), 3),
    ]))
    return table


def grid_table(header: list[Any], rows: list[list[Any]], st: dict[str, ParagraphStyle], widths: list[float]) -> Table:
    data = [[para(h, st["small"]) for h in header]] + [[para(c, st["body"]) for c in row] for row in rows]
    table = Table(data, colWidths=widths, repeatRows=1)
    table.setStyle(TableStyle([
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#f0f0f0")),
        ("GRID", (0, 0), (-1, -1), 0.25, colors.HexColor("#cccccc")),
    ]))
    return table


def build(flowables: list[Any], *, title: str) -> bytes:
    buffer = io.BytesIO()
    doc = SimpleDocTemplate(
        buffer, pagesize=A4, leftMargin=18 * mm, rightMargin=18 * mm, topMargin=16 * mm, bottomMargin=16 * mm,
        title=title, author="Aftersales",
    )
    doc.build(flowables)
    return buffer.getvalue()
