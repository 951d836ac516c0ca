"""Content-Security-Policy (issue 13, item 8): the header is on every response, and no template brings back what it
forbids (inline script, inline event handlers, <style> elements, style="…" attributes, htmx filters that need eval). The browser test
(tests/test_browser_csp.py, and every browser test through ``browser_page``) checks the pages themselves."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.test import Client

from aftersales.common.middleware import DEFAULT_CSP

ROOT = Path(__file__).resolve().parents[2]
FORBIDDEN = {
    "inline script": re.compile(r"<script(?![^>]*\bsrc=)(?![^>]*type=\"application/json\")[^>]*>", re.I),
    "inline event handler": re.compile(r"\son[a-z]+\s*=\s*[\"']", re.I),
    "<style> element": re.compile(r"<style[\s>]", re.I),
    "javascript: URL": re.compile(r"(href|src|action)\s*=\s*[\"']\s*javascript:", re.I),
    "htmx filter (needs eval)": re.compile(r"hx-trigger=\"([^\"]*\s)?\[", re.I),
    "hx-on (needs eval)": re.compile(r"\shx-on[:-]", re.I),
    "style attribute (use a CSS class)": re.compile(r"\sstyle\s*=\s*[\"'{]", re.I),
}
#: in Python (HTML built with format_html / mark_safe) and in our own scripts (markup or style attributes they add)
CODE_FORBIDDEN = {
    "style attribute in generated HTML": re.compile(r"\sstyle\s*=\s*\\?[\"']", re.I),
    "style attribute set by script": re.compile(r"setAttribute\(\s*[\"']style[\"']", re.I),
}


@pytest.mark.django_db
def test_every_response_carries_the_policy():
    client = Client()
    for path in ("/login/", "/app/login/", "/api/openapi.json", "/no-such-page/"):
        response = client.get(path)
        assert response["Content-Security-Policy"] == DEFAULT_CSP, path
    assert "script-src 'self';" in DEFAULT_CSP and "'unsafe-eval'" not in DEFAULT_CSP
    assert "style-src 'self';" in DEFAULT_CSP
    # no inline anything: style attributes are refused too (style-src-attr falls back to style-src 'self')
    assert "'unsafe-inline'" not in DEFAULT_CSP and "style-src-attr" not in DEFAULT_CSP


def test_no_template_needs_inline_script_or_style():
    found = []
    for path in sorted(ROOT.glob("**/templates/**/*.html")):
        text = path.read_text(encoding="utf-8")
        for what, pattern in FORBIDDEN.items():
            for m in pattern.finditer(text):
                found.append(f"{path.relative_to(ROOT)}:{text[: m.start()].count(chr(10)) + 1}: {what}")
    assert found == []


def test_no_python_or_script_of_ours_makes_style_attributes():
    found = []
    sources = [p for p in ROOT.glob("**/*.py") if "tests" not in p.parts and "migrations" not in p.parts]
    sources += [p for p in ROOT.glob("**/static/**/*.js") if "vendor" not in p.parts and "node_modules" not in p.parts]
    for path in sorted(sources):
        text = path.read_text(encoding="utf-8")
        for what, pattern in CODE_FORBIDDEN.items():
            for m in pattern.finditer(text):
                found.append(f"{path.relative_to(ROOT)}:{text[: m.start()].count(chr(10)) + 1}: {what}")
    assert found == []
