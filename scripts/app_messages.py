"""Extract one app's strings into its own catalogue: aftersales/<app>/locale/{zh_Hans,en}/LC_MESSAGES/django.po.

Usage: .venv/bin/python scripts/app_messages.py <app>

Every app may keep its own catalogue (Django finds an installed app's ``locale/`` by itself), so work on several
apps at once never fights over one huge .po file. The script runs ``makemessages`` for that app only, fills every
entry the main catalogue (aftersales/locale) already translates, strips msgmerge's ``#|`` hints and prints what is
still untranslated in zh_Hans: translate those in the app's zh_Hans file (the en file stays empty = the msgid).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "aftersales.settings")


def main(app: str) -> int:
    import django

    django.setup()
    import polib
    from django.core.management import call_command
    from django.test.utils import override_settings

    app_dir = ROOT / "aftersales" / app
    if not app_dir.is_dir():
        print(f"no such app: {app_dir}", file=sys.stderr)
        return 2
    for lang in ("zh_Hans", "en"):
        (app_dir / "locale" / lang / "LC_MESSAGES").mkdir(parents=True, exist_ok=True)
    os.chdir(app_dir)
    with override_settings(LOCALE_PATHS=[]):
        call_command(
            "makemessages", locale=["zh_Hans", "en"], no_location=True, no_obsolete=True, verbosity=0,
            ignore_patterns=["tests/*", "migrations/*", "locale/*"],
        )
    main_zh = polib.pofile(str(ROOT / "aftersales" / "locale" / "zh_Hans" / "LC_MESSAGES" / "django.po"))
    known = {(e.msgctxt, e.msgid): e for e in main_zh if e.translated()}
    missing = []
    for lang in ("zh_Hans", "en"):
        path = app_dir / "locale" / lang / "LC_MESSAGES" / "django.po"
        po = polib.pofile(str(path))
        po.metadata["Language"] = lang
        po.metadata["Plural-Forms"] = "nplurals=1; plural=0;" if lang == "zh_Hans" else "nplurals=2; plural=(n != 1);"
        po.metadata["Content-Type"] = "text/plain; charset=UTF-8"
        po.metadata_is_fuzzy = False
        for e in po:
            e.previous_msgid = e.previous_msgid_plural = e.previous_msgctxt = None
            if "fuzzy" in e.flags:  # a guess by msgmerge: start that entry over
                e.flags.remove("fuzzy")
                e.msgstr = ""
                e.msgstr_plural = {k: "" for k in e.msgstr_plural}
            if lang == "en":
                if e.msgid_plural:
                    e.msgstr_plural = {0: e.msgid, 1: e.msgid_plural}
                continue
            if e.translated():
                continue
            source = known.get((e.msgctxt, e.msgid))
            if source is not None:
                e.msgstr = source.msgstr
                if e.msgid_plural:
                    e.msgstr_plural = dict(source.msgstr_plural)
            else:
                missing.append(e)
        po.save(str(path))
    if missing:
        print(f"{len(missing)} string(s) to translate in aftersales/{app}/locale/zh_Hans/LC_MESSAGES/django.po:")
        for e in missing:
            print(f"  {(e.msgctxt + ' | ') if e.msgctxt else ''}{e.msgid}")
    else:
        print("every zh_Hans string is translated")
    return 0


if __name__ == "__main__":
    if len(sys.argv) != 2:
        print(__doc__)
        sys.exit(2)
    sys.exit(main(sys.argv[1]))
