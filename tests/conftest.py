"""Fixtures for the cross-app and browser tests."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest

CHROMIUM = os.environ.get("AFTERSALES_CHROMIUM", "/usr/bin/chromium")


def _poll_for_function(self: object, expression: str, *, arg: object = None, timeout: float | None = None,
                       polling: object = None) -> bool:
    """``Page.wait_for_function`` without eval in the page: Playwright's own polls the predicate through
    ``new Function`` inside the page, which our Content-Security-Policy (no 'unsafe-eval') rightly refuses. This polls
    from here with ``page.evaluate`` (a DevTools evaluation, which the policy does not govern)."""
    import time

    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    deadline = time.monotonic() + (timeout if timeout is not None else 15_000) / 1000
    while True:
        value = self.evaluate(expression) if arg is None else self.evaluate(expression, arg)  # type: ignore[attr-defined]
        if value:
            return True
        if time.monotonic() > deadline:
            raise PlaywrightTimeout(f"wait_for_function timed out: {expression}")
        self.wait_for_timeout(100)  # type: ignore[attr-defined]


def _click_opening_menus(click):
    """``Page.click`` that first opens the navigation's area holding a ``[data-testid=nav-…]`` entry, by clicking the
    area's summary as a person does (the staff navigation is grouped into menus: docs/foundation.md)."""

    def wrapped(self, selector: str, *args, **kwargs):
        if isinstance(selector, str) and selector.startswith("[data-testid=nav-"):
            entry = self.locator(selector).first
            entry.wait_for(state="attached")
            if not entry.is_visible():
                entry.locator("xpath=ancestor::details[1]/summary").click()
        return click(self, selector, *args, **kwargs)

    return wrapped


@pytest.fixture
def browser_page() -> Iterator[object]:
    """A page in headless Chromium: Debian's package driven by Playwright (never a downloaded browser build)."""
    # Playwright's sync API runs an event loop in this thread; the tests' ORM calls happen outside it.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    from playwright.sync_api import Page, sync_playwright

    Page.wait_for_function = _poll_for_function  # type: ignore[method-assign,assignment]
    if not getattr(Page.click, "_opens_menus", False):
        Page.click = _click_opening_menus(Page.click)  # type: ignore[method-assign]
        Page.click._opens_menus = True  # type: ignore[attr-defined]
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


PHONE = {"width": 390, "height": 844}


def owner_sign_in(page: Any, base_url: str, customer: Any, *, lands_on: str = "[data-testid=hello]") -> Any:
    """Sign the owner in to the app on ``page`` with the code the outbox holds for them (the SMS a phone would get);
    wait for ``lands_on`` (the app's home by default). Returns the page."""
    import re

    from aftersales.messaging.models import Message

    page.goto(f"{base_url}/app/")
    page.fill("[data-testid=mobile]", customer.mobile[3:])
    page.click("[data-testid=send-code]")
    page.wait_for_selector("[data-testid=code]")
    body = Message.objects.filter(kind="portal.sign_in_code").latest("id").body
    page.fill("[data-testid=code]", re.search(r"\b(\d{6})\b", body).group(1))  # type: ignore[union-attr]
    page.click("[data-testid=verify]")
    page.wait_for_selector(lands_on)
    return page


@pytest.fixture
def owner_phone(browser_page: Any, live_server: Any) -> Any:
    """``owner_phone(customer, **context)``: a new 390-px phone (Chinese unless ``locale`` says otherwise; any other
    Playwright context options, e.g. ``geolocation`` and ``permissions``) with the owner signed in to the app."""

    def open_phone(customer: Any, *, locale: str = "zh-CN", lands_on: str = "[data-testid=hello]", **context: Any) -> Any:
        page = browser_page.context.browser.new_context(locale=locale, viewport=PHONE, **context).new_page()
        page.set_default_timeout(15_000)
        return owner_sign_in(page, live_server.url, customer, lands_on=lands_on)

    return open_phone


@pytest.fixture
def staff_phone(browser_page: Any, live_server: Any) -> Any:
    """``staff_phone(user)``: a new 390-px phone with a member of staff (a driver, a technician) signed in."""
    from .test_browser_mobility import login

    def open_phone(user: Any, *, locale: str = "zh-CN", **context: Any) -> Any:
        page = browser_page.context.browser.new_context(locale=locale, viewport=PHONE, **context).new_page()
        page.set_default_timeout(15_000)
        login(page, live_server, user)
        return page

    return open_phone
