"""PDF documents in Chinese and English with ReportLab.

Every document embeds its font: Noto Sans CJK SC (SIL Open Font License 1.1), made at install time by
``scripts/cjk-font.py`` from Debian's ``fonts-noto-cjk`` with TrueType outlines (ReportLab embeds only those), and
subset into each PDF as ``FontFile2`` with a ``ToUnicode`` map, so a Chinese document renders the same on any reader
(a phone without Adobe's Asian font pack included) and its text stays extractable. ``AFTERSALES_PDF_FONT`` names
another TrueType file. When the font file is missing, documents fall back to ReportLab's built-in, non-embedded CID
font STSong-Light, with a warning in the log and in ``aftersales check`` (``common.W010``).
"""

from __future__ import annotations

import io
import logging
import os
from functools import lru_cache
from pathlib import Path
from typing import Any

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.platypus import Paragraph, SimpleDocTemplate, Table, TableStyle

log = logging.getLogger(__name__)

EMBEDDED_FONT = "NotoSansSC"
DEFAULT_FONT_FILE = Path(__file__).resolve().parent / "fonts" / "NotoSansSC-Regular.ttf"
FALLBACK_FONT = "STSong-Light"


def font_file() -> Path:
    """The TrueType file every document embeds (``AFTERSALES_PDF_FONT`` or the one ``make install`` made)."""
    return Path(os.environ.get("AFTERSALES_PDF_FONT") or DEFAULT_FONT_FILE)


@lru_cache(maxsize=1)
def cjk_font() -> str:
    """The CJK font's name, registered with ReportLab once per process (every document module uses this one):
    the embedded Noto Sans SC, or the non-embedded STSong-Light when the font file is missing (logged)."""
    path = font_file()
    if path.is_file():
        if EMBEDDED_FONT not in pdfmetrics.getRegisteredFontNames():
            pdfmetrics.registerFont(TTFont(EMBEDDED_FONT, str(path)))
        return EMBEDDED_FONT
    log.warning("PDF font %s is missing (run `make install`): documents use STSong-Light, which is not embedded "
                "and shows blank or boxed Chinese on readers without Asian fonts.", path)
    if FALLBACK_FONT not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(UnicodeCIDFont(FALLBACK_FONT))
    return FALLBACK_FONT


def table_style(commands: list[Any]) -> TableStyle:
    """A table style whose cells' own font (ReportLab sets Helvetica on every cell, text or not) is ours: no page
    names a font that is not embedded."""
    return TableStyle([("FONTNAME", (0, 0), (-1, -1), cjk_font()), *commands])


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
    table.setStyle(table_style([
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("LINEBELOW", (0, 0), (-1, -1), 0.25, colors.HexColor("#dddddd")),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 3),
        ("TOPPADDING", (0, 0), (-1, -1), 3),
    ]))
    return table


def grid_table(header: list[Any], rows: list[list[Any]], st: dict[str, ParagraphStyle], widths: list[float]) -> Table:
    data = [[para(h, st["small"]) for h in header]] + [[para(c, st["body"]) for c in row] for row in rows]
    table = Table(data, colWidths=widths, repeatRows=1)
    table.setStyle(table_style([
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#f0f0f0")),
        ("GRID", (0, 0), (-1, -1), 0.25, colors.HexColor("#cccccc")),
    ]))
    return table


def build(flowables: list[Any], *, title: str) -> bytes:
    buffer = io.BytesIO()
    doc = SimpleDocTemplate(
        buffer, pagesize=A4, leftMargin=18 * mm, rightMargin=18 * mm, topMargin=16 * mm, bottomMargin=16 * mm,
        title=title, author="Aftersales", initialFontName=cjk_font(),
    )
    doc.build(flowables)
    return buffer.getvalue()
