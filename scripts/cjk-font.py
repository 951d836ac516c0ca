"""Make the CJK font that every PDF embeds: Noto Sans CJK SC (SIL Open Font License 1.1, from Debian's
``fonts-noto-cjk``) with its CFF outlines converted to TrueType outlines, because ReportLab embeds only TrueType
(``glyf``) fonts. Run by ``make install`` (scripts/vendor-static.sh); the result is never committed.

    python scripts/cjk-font.py [--source FILE.ttc] [--out FILE.ttf]

The conversion is fontTools' own recipe (``Snippets/otf2ttf.py``: each cubic outline drawn through ``Cu2QuPen`` into a
``TTGlyphPen``); the font is otherwise unchanged, with its licence in its ``name`` table and the licence text kept beside
it (``NotoSansSC-LICENSE.txt``). A cached copy in ``$XDG_CACHE_HOME/aftersales`` spares a fresh clone the minute it takes.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUT = ROOT / "aftersales" / "common" / "fonts" / "NotoSansSC-Regular.ttf"
SOURCES = [
    Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc"),
    Path("/usr/share/fonts/opentype/noto-cjk/NotoSansCJK-Regular.ttc"),
]
FAMILY = "Noto Sans CJK SC"
LICENCE = """Noto Sans CJK SC, converted to TrueType outlines for embedding in PDF documents.
Copyright 2014-2021 Adobe (http://www.adobe.com/), with Reserved Font Name 'Source'.
This Font Software is licensed under the SIL Open Font License, Version 1.1: https://openfontlicense.org
(the full text is in Debian's package fonts-noto-cjk, /usr/share/doc/fonts-noto-cjk/copyright).
"""


def _subfont(source: Path):  # type: ignore[no-untyped-def]
    from fontTools.ttLib import TTCollection, TTFont

    if source.suffix.lower() == ".ttc":
        for font in TTCollection(str(source)).fonts:
            if font["name"].getDebugName(1) == FAMILY:
                return font
        raise SystemExit(f"{source} has no '{FAMILY}' face")
    return TTFont(str(source))


def convert(source: Path, out: Path) -> None:
    from fontTools.pens.cu2quPen import Cu2QuPen
    from fontTools.pens.ttGlyphPen import TTGlyphPen
    from fontTools.ttLib import newTable

    font = _subfont(source)
    if "glyf" not in font:
        order = font.getGlyphOrder()
        glyph_set = font.getGlyphSet()
        glyphs = {}
        for name in order:
            pen = TTGlyphPen(glyph_set)
            glyph_set[name].draw(Cu2QuPen(pen, 1.0, reverse_direction=True))
            glyphs[name] = pen.glyph()
        font["loca"] = newTable("loca")
        font["glyf"] = glyf = newTable("glyf")
        glyf.glyphOrder = order
        glyf.glyphs = glyphs
        for tag in ("CFF ", "VORG"):
            if tag in font:
                del font[tag]
        glyf.compile(font)
        hmtx = font["hmtx"]
        for name, glyph in glyphs.items():
            if hasattr(glyph, "xMin"):
                hmtx[name] = (hmtx[name][0], glyph.xMin)
        font["maxp"] = maxp = newTable("maxp")
        maxp.tableVersion = 0x00010000
        for attr in ("maxZones",):
            setattr(maxp, attr, 1)
        for attr in ("maxTwilightPoints", "maxStorage", "maxFunctionDefs", "maxInstructionDefs",
                     "maxStackElements", "maxSizeOfInstructions", "maxComponentElements"):
            setattr(maxp, attr, 0)
        maxp.compile(font)
        post = font["post"]
        post.formatType, post.extraNames, post.mapping = 3.0, [], {}
        font.sfntVersion = "\000\001\000\000"
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".tmp")
    font.save(str(tmp))
    os.replace(tmp, out)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", type=Path)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args()
    source = args.source or next((p for p in SOURCES if p.exists()), None)
    if source is None:
        print("cjk-font: Debian's fonts-noto-cjk is not installed (apt-get install fonts-noto-cjk); PDFs will fall back "
              "to the non-embedded STSong-Light font.", file=sys.stderr)
        return 0
    stamp = hashlib.sha256(f"{source}:{source.stat().st_size}:{source.stat().st_mtime_ns}:v1".encode()).hexdigest()[:16]
    stamp_file = args.out.with_suffix(".source")
    if args.out.exists() and stamp_file.exists() and stamp_file.read_text() == stamp:
        return 0
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "aftersales" / f"NotoSansSC-{stamp}.ttf"
    if cache.exists():
        args.out.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(cache, args.out)
    else:
        started = time.monotonic()
        print(f"cjk-font: converting {FAMILY} from {source} to TrueType outlines (about a minute)...", file=sys.stderr)
        convert(source, args.out)
        print(f"cjk-font: {args.out} written in {time.monotonic() - started:.0f} s", file=sys.stderr)
        try:
            cache.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(args.out, cache)
        except OSError:
            pass
    args.out.with_name("NotoSansSC-LICENSE.txt").write_text(LICENCE)
    stamp_file.write_text(stamp)
    return 0


if __name__ == "__main__":
    sys.exit(main())
