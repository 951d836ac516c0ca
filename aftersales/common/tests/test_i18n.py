"""Catalogues: every zh-Hans string is translated, placeholders survive, and the UI switches language.

The catalogue checks read the .po files directly, so a string added by ``makemessages`` without a translation
(or left ``#, fuzzy``) fails here before it reaches a user.
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import polib
import pytest
from django.core.management import call_command
from django.template import Context, Template
from django.utils import translation
from django.utils.translation import gettext, ngettext

from aftersales.common.errors import ValidationFailed
from aftersales.common.validators import normalize_vin

PACKAGE = Path(__file__).resolve().parents[2]
# The main catalogue (aftersales/locale) and every app's own (aftersales/<app>/locale), each a zh_Hans/en pair.
LOCALE_DIRS = [PACKAGE / "locale", *sorted(p.parent for p in PACKAGE.glob("*/locale/zh_Hans") if p.parent != PACKAGE / "locale")]
LOCALE_IDS = [str(d.relative_to(PACKAGE)) for d in LOCALE_DIRS]

# %(name)s, %(n)d, %(x).2f; {{ name }}, {{ name|filter }}; bare %s or %d (positional). "%%" is literal.
NAMED_RE = re.compile(r"%\((\w+)\)[-#0 +]*\d*(?:\.\d+)?[sdifrxXeEgGc]")
POSITIONAL_RE = re.compile(r"%[-#0 +]*\d*(?:\.\d+)?[sdifrxXeEgGc]")
BRACES_RE = re.compile(r"\{\{\s*([^{}]+?)\s*\}\}")


def placeholders(text: str) -> tuple[frozenset[str], frozenset[str], Counter[str]]:
    """Named %-placeholders, {{ }} placeholders and a count of positional %-directives in ``text``."""
    text = text.replace("%%", "")
    named = frozenset(m.group(0) for m in NAMED_RE.finditer(text))
    braces = frozenset(m.group(1) for m in BRACES_RE.finditer(text))
    positional = Counter(m.group(0) for m in POSITIONAL_RE.finditer(NAMED_RE.sub("", text)))
    return named, braces, positional


def live_entries(po: polib.POFile) -> list[polib.POEntry]:
    return [e for e in po if not e.obsolete and e.msgid]


def label(entry: polib.POEntry) -> str:
    return f"{entry.msgctxt + ' | ' if entry.msgctxt else ''}{entry.msgid!r}"


def placeholder_mismatches(po: polib.POFile) -> list[str]:
    """Entries whose (non-empty) translation has a different placeholder set from its source text."""
    bad = []
    for e in live_entries(po):
        if e.msgid_plural:
            nforms = len(e.msgstr_plural)
            for i, msgstr in sorted(e.msgstr_plural.items()):
                if not msgstr:
                    continue
                # With one form (zh) the only form stands for the plural; otherwise form 0 is the singular.
                source = e.msgid if (i == 0 and nforms > 1) else e.msgid_plural
                if placeholders(msgstr) != placeholders(source):
                    bad.append(f"{label(e)} msgstr[{i}]={msgstr!r}")
        elif e.msgstr and placeholders(e.msgstr) != placeholders(e.msgid):
            bad.append(f"{label(e)} msgstr={e.msgstr!r}")
    return bad


@pytest.fixture(scope="module", params=LOCALE_DIRS, ids=LOCALE_IDS)
def locale_dir(request) -> Path:
    return request.param


@pytest.fixture(scope="module")
def zh_po(locale_dir: Path) -> polib.POFile:
    return polib.pofile(str(locale_dir / "zh_Hans" / "LC_MESSAGES" / "django.po"))


@pytest.fixture(scope="module")
def en_po(locale_dir: Path) -> polib.POFile:
    return polib.pofile(str(locale_dir / "en" / "LC_MESSAGES" / "django.po"))


# ---- the catalogues ----------------------------------------------------------------------------------------
def test_placeholder_helper() -> None:
    assert placeholders("%(n)s km, %(d)d, 100%%") == (frozenset({"%(n)s", "%(d)d"}), frozenset(), Counter())
    assert placeholders("{{ n }} and {{n}}")[1] == frozenset({"n"})
    assert placeholders("%s of %s")[2] == Counter({"%s": 2})
    assert placeholders("%(n)s") != placeholders("%(n)d")


def test_zh_header(zh_po: polib.POFile) -> None:
    assert zh_po.metadata["Plural-Forms"].replace(" ", "") == "nplurals=1;plural=0;"
    assert zh_po.metadata["Language"] == "zh_Hans"
    assert not zh_po.metadata_is_fuzzy


def test_zh_everything_translated(zh_po: polib.POFile) -> None:
    untranslated = [label(e) for e in live_entries(zh_po) if not e.translated() and "fuzzy" not in e.flags]
    fuzzy = [label(e) for e in live_entries(zh_po) if "fuzzy" in e.flags]
    assert not untranslated, f"{len(untranslated)} zh_Hans string(s) without translation: {untranslated}"
    assert not fuzzy, f"{len(fuzzy)} fuzzy zh_Hans string(s), check and unflag them: {fuzzy}"
    for e in live_entries(zh_po):
        if e.msgid_plural:
            assert e.msgstr_plural.get(0), f"{label(e)}: msgstr[0] is empty"


def test_zh_placeholders_match(zh_po: polib.POFile) -> None:
    bad = placeholder_mismatches(zh_po)
    assert not bad, "placeholders differ between msgid and msgstr:\n" + "\n".join(bad)


def test_zh_translation_of_percent_literals(zh_po: polib.POFile) -> None:
    # python-format strings must keep "%%" for a literal percent sign, or gettext/msgfmt reject them.
    for e in live_entries(zh_po):
        if "python-format" in e.flags and e.msgstr:
            assert "%" not in e.msgstr.replace("%%", "").replace("%(", ""), label(e)


def test_en_catalogue(en_po: polib.POFile) -> None:
    assert not en_po.metadata_is_fuzzy
    assert not [label(e) for e in live_entries(en_po) if "fuzzy" in e.flags]
    for e in live_entries(en_po):
        if e.msgid_plural:
            assert e.msgstr_plural.get(0) == e.msgid, label(e)
            assert e.msgstr_plural.get(1) == e.msgid_plural, label(e)
    bad = placeholder_mismatches(en_po)
    assert not bad, "placeholders differ between msgid and msgstr:\n" + "\n".join(bad)


def test_same_msgids_in_both_catalogues(zh_po: polib.POFile, en_po: polib.POFile) -> None:
    def keys(po: polib.POFile) -> set[tuple[str | None, str]]:
        return {(e.msgctxt, e.msgid) for e in live_entries(po)}

    assert keys(zh_po) == keys(en_po)


# ---- at run time -------------------------------------------------------------------------------------------
@pytest.fixture
def compiled(settings):
    """Compile the .po files (skipped when the .mo is current) and drop Django's cached catalogues."""
    call_command("compile_translations", verbosity=0)
    settings.LOCALE_PATHS = list(settings.LOCALE_PATHS)  # setting_changed resets trans_real's caches


ZH_EXPECTED = {
    "Customers": "客户",
    "Vehicles": "车辆",
    "Sign in": "登录",
    "Save": "保存",
    "Service advisor": "服务顾问",
    "Audit trail": "操作记录",
    "Simplified Chinese": "简体中文",
    "English": "English",
}


def test_ui_strings_in_chinese(compiled) -> None:
    with translation.override("zh-hans"):
        for source, expected in ZH_EXPECTED.items():
            assert gettext(source) == expected
        assert gettext("Mr %(surname)s") % {"surname": "张"} == "张先生"
        assert gettext("Ms %(surname)s") % {"surname": "李"} == "李女士"
        assert ngettext("%(n)s visit", "%(n)s visits", 1) % {"n": 1} == "1 次到店"
        assert ngettext("%(n)s visit", "%(n)s visits", 5) % {"n": 5} == "5 次到店"
        with pytest.raises(ValidationFailed) as exc:
            normalize_vin("LSVAM4187C220618")
        assert str(exc.value.message) == "车架号(VIN)必须为 17 位（当前为 16 位）。"
        rendered = Template('{% load i18n %}{% translate "Target: 100%" %}').render(Context())
        assert rendered == "目标：100%"


def test_ui_strings_in_english(compiled) -> None:
    with translation.override("en"):
        for source in ZH_EXPECTED:
            assert gettext(source) == source
        assert gettext("Mr %(surname)s") % {"surname": "Smith"} == "Mr Smith"
        assert ngettext("%(n)s visit", "%(n)s visits", 1) % {"n": 1} == "1 visit"
        assert ngettext("%(n)s visit", "%(n)s visits", 5) % {"n": 5} == "5 visits"
        with pytest.raises(ValidationFailed) as exc:
            normalize_vin("LSVAM4187C220618")
        assert str(exc.value.message) == "VIN must be exactly 17 characters (got 16)."
        rendered = Template('{% load i18n %}{% translate "Target: 100%" %}').render(Context())
        assert rendered == "Target: 100%"


def test_catalogues_stay_mergeable_by_makemessages():
    """Previous-msgid hints (#|) written by tools made msgmerge fail with a syntax error: keep them out."""

    for path in [*PACKAGE.glob("locale/*/LC_MESSAGES/django.po"), *PACKAGE.glob("*/locale/*/LC_MESSAGES/django.po")]:
        assert not [line for line in path.read_text(encoding="utf-8").splitlines() if line.startswith("#|")], path


def test_one_msgid_reads_the_same_in_every_catalogue():
    """Django merges every app's catalogue into one: a msgid translated two ways in two apps shows one app's words on
    the other's screens ("Owner" as 负责人 on the connected-car page, "Case" as 案件 in the feedback report). A word
    with two senses gets a message context (pgettext, {% translate … context … %}); synonyms are made one."""
    seen: dict[tuple[str | None, str], dict[str, str]] = {}
    for directory in LOCALE_DIRS:
        for entry in polib.pofile(str(directory / "zh_Hans" / "LC_MESSAGES" / "django.po")):
            if entry.msgstr and not entry.obsolete and not entry.msgid_plural:
                seen.setdefault((entry.msgctxt, entry.msgid), {})[str(directory.relative_to(PACKAGE))] = entry.msgstr
    clashes = {key: found for key, found in seen.items() if len(set(found.values())) > 1}
    assert not clashes, "\n".join(f"{key}: {found}" for key, found in clashes.items())
