"""Fixtures for the cross-app and browser tests."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

CHROMIUM = os.environ.get("AFTERSALES_CHROMIUM", "/usr/bin/chromium")


@pytest.fixture
def browser_page() -> Iterator[object]:
    """A page in headless Chromium: Debian's package driven by Playwright (never a downloaded browser build)."""
    # Playwright's sync API runs an event loop in this thread; the tests' ORM calls happen outside it.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                  "--disable-sync", "--no-first-run", "--disable-quic"],
        )
        page = browser.new_page(locale="zh-CN")
        page.set_default_timeout(15_000)
        # every page a browser test opens must satisfy the Content-Security-Policy (issue 13, item 8): Chromium
        # reports each blocked inline script, style or eval on the console, and the test fails on the first
        violations: list[str] = []
        page.csp_violations = violations  # type: ignore[attr-defined]
        page.on("console", lambda m: violations.append(f"{page.url}: {m.text}") if "Content Security Policy" in m.text else None)
        try:
            yield page
        finally:
            browser.close()
        if violations:
            pytest.fail("Content-Security-Policy violations:\n" + "\n".join(violations))
