"""The check every PDF test uses (issue 14, item 5): each font the pages draw with is embedded (``FontFile2``: the
TrueType subset ReportLab writes), the text extracts back to Unicode, and every character of it is in the embedded
font, so no reader substitutes a font or shows a box."""

from __future__ import annotations

import io
import re
from functools import lru_cache

from pypdf import PdfReader

from aftersales.common.pdf import font_file

TF = re.compile(rb"/([^\s/\[\]<>()]+)\s+[\d.]+\s+Tf")


@lru_cache(maxsize=1)
def font_characters() -> frozenset[int]:
    from fontTools.ttLib import TTFont

    font = TTFont(str(font_file()), lazy=True)
    return frozenset(font.getBestCmap())


def assert_fonts_embedded(data: bytes, *, expect: tuple[str, ...] = ()) -> str:
    """Check one PDF; returns its text. ``expect``: strings (Chinese ones, say) that must extract as typed."""
    assert data.startswith(b"%PDF")
    assert font_file().is_file(), f"{font_file()} is missing: run `make install` (scripts/cjk-font.py)"
    reader = PdfReader(io.BytesIO(data))
    texts = []
    for number, page in enumerate(reader.pages, start=1):
        fonts = page["/Resources"]["/Font"]
        used = {m.decode() for m in TF.findall(page.get_contents().get_data())}
        assert used, f"page {number} draws no text"
        for key in used:
            font = fonts["/" + key].get_object()
            descriptor = font.get("/FontDescriptor")
            assert descriptor is not None and "/FontFile2" in descriptor.get_object(), (
                f"page {number}: font {key} ({font.get('/BaseFont')}) is not embedded"
            )
            assert "NotoSans" in str(font["/BaseFont"]), font["/BaseFont"]
            assert "/ToUnicode" in font, f"page {number}: font {key} has no ToUnicode map (text not extractable)"
        texts.append(page.extract_text())
    text = "\n".join(texts)
    missing = sorted({ch for ch in text if not ch.isspace() and ord(ch) not in font_characters()})
    assert not missing, f"characters the embedded font does not cover: {missing}"
    flat = "".join(text.split())
    for s in expect:
        assert "".join(s.split()) in flat, (s, text[:500])
    return text
