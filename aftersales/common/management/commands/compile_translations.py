"""Compile the committed .po files to .mo with polib, so installs need no GNU gettext."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import polib
from django.conf import settings
from django.core.management.base import BaseCommand


def catalogue_paths() -> list[Path]:
    """The main catalogues (LOCALE_PATHS) and every app's own (aftersales/<app>/locale)."""
    paths: list[Path] = []
    for locale_dir in settings.LOCALE_PATHS:
        paths.extend(sorted(Path(locale_dir).glob("*/LC_MESSAGES/*.po")))
    package = Path(__file__).resolve().parents[3]
    paths.extend(sorted(package.glob("*/locale/*/LC_MESSAGES/*.po")))
    return paths


class Command(BaseCommand):
    help = "Compile locale/*/LC_MESSAGES/*.po and aftersales/<app>/locale/… to .mo (no gettext tools needed)."

    def handle(self, *args: Any, **options: Any) -> None:
        count = 0
        for po_path in catalogue_paths():
            mo_path = po_path.with_suffix(".mo")
            if mo_path.exists() and mo_path.stat().st_mtime >= po_path.stat().st_mtime:
                continue
            polib.pofile(str(po_path)).save_as_mofile(str(mo_path))
            count += 1
        if options.get("verbosity", 1) > 1:
            self.stdout.write(f"compiled {count} catalogue(s)")
