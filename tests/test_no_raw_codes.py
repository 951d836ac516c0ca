"""No raw codes on the staff screens (issue 16): with the demo data, walk the pages reachable from the navigation (and
the pages they link to) in Chinese and in English, and fail when a code value of the project (any ``TextChoices``
value: states, channels, kinds, reasons) shows as visible text: "– → booked", "walk_in", "open → open",
"draft / awaiting_signature".

Visible text only: text nodes outside <script>, <style>, <code>, <pre>, <textarea> and <option value>s; the
values of attributes are not read (they are where codes belong).
"""

from __future__ import annotations

import contextlib
import importlib
import re
from collections import defaultdict
from html.parser import HTMLParser
from urllib.parse import urlsplit

import pytest
from django.apps import apps
from django.core.management import call_command
from django.db import models
from django.test import Client

from aftersales.demo.loader import ADMIN
from aftersales.staff.models import User

pytestmark = pytest.mark.django_db(transaction=False)

SKIP_TAGS = {"script", "style", "code", "pre", "textarea", "kbd", "samp", "title"}
VOID = {"br", "img", "input", "meta", "link", "hr", "col", "area", "base", "embed", "source", "track", "wbr", "param"}
#: pages not walked: downloads, the API docs, the admin (Django's own), sign out, language switch, actions by GET
SKIP_URL = re.compile(r"^/(api/|admin/|static/|media/|logout|i18n/|lang)|\.(pdf|xlsx|csv|png|jpg)$|/(pdf|export|download|print)/?$")
#: snake_case or dotted codes ("walk_in", "repair_order.delivered"), and words joined by an arrow ("open → open")
CODE_RE = re.compile(r"(?<![\w/.@-])[a-z][a-z0-9]*(?:[_.][a-z0-9]+)+(?![\w/@-])")
ARROW_RE = re.compile(r"(?:^|[\s(（:：])([a-z][a-z_]*|–|-)\s*→\s*([a-z][a-z_]*)(?![\w])")
PAIR_RE = re.compile(r"(?<![\w/.])([a-z][a-z_]*)/([a-z][a-z_]*)(?![\w/])")
WORD_RE = re.compile(r"(?<![\w/.@&%-])[a-z][a-z_]{2,}(?![\w/.@-])")
ENGLISH_RE = re.compile(r"\b[A-Z][a-z]+\b|[\u4e00-\u9fff][^/]* / [0-9a-zA-Z]")
#: lowercase words that are legitimately shown: units and names of things that are not codes
ALLOW = {"km", "kg", "pcs", "am", "pm", "vs", "http", "https", "www"}
#: the columns of the import files, named in the help text because that is what the file's header must say
COLUMNS = {"visit_id", "part_number", "is_oem"}


def LOCALE_DIRS_GLOB() -> list:
    """The zh_Hans catalogues: the main one and every app's."""
    from pathlib import Path

    package = Path(__file__).resolve().parents[1] / "aftersales"
    return [package / "locale/zh_Hans/LC_MESSAGES/django.po", *sorted(package.glob("*/locale/zh_Hans/LC_MESSAGES/django.po"))]


def code_values() -> set[str]:
    """Every value of every TextChoices of the project's apps."""
    for config in apps.get_app_configs():
        if config.name.startswith("aftersales."):
            for module in ("choices", "models"):
                with contextlib.suppress(ModuleNotFoundError):
                    importlib.import_module(f"{config.name}.{module}")
    out: set[str] = set()
    stack = list(models.TextChoices.__subclasses__())
    while stack:
        cls = stack.pop()
        stack += cls.__subclasses__()
        if cls.__module__.startswith("aftersales."):
            out |= {str(v) for v in cls.values if v and re.fullmatch(r"[a-z][a-z0-9_.]*", str(v))}
    return out


class Visible(HTMLParser):
    """The page's visible text (one string per text node) and its same-site links."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.skip = 0
        self.stack: list[str] = []
        self.texts: list[str] = []
        self.links: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "a":
            href = dict(attrs).get("href") or ""
            if href.startswith("/") and not href.startswith("//"):
                self.links.append(href.split("#")[0])
        if tag in VOID:
            return
        self.stack.append(tag)
        if tag in SKIP_TAGS:
            self.skip += 1

    def handle_endtag(self, tag: str) -> None:
        if tag in VOID or tag not in self.stack:
            return
        while self.stack:
            top = self.stack.pop()
            if top in SKIP_TAGS:
                self.skip -= 1
            if top == tag:
                break

    def handle_data(self, data: str) -> None:
        if not self.skip and data.strip():
            self.texts.append(" ".join(data.split()))


PLACEHOLDER_RE = re.compile(r"\{\{.*?\}\}|\{\{.*$")


def raw_codes(texts: list[str], codes: set[str], chinese: bool, usernames: frozenset[str] = frozenset()) -> set[str]:
    """The codes in these text nodes. On a Chinese page a lone lowercase word that is a code counts too ("已停止
    (booked)", "attitude"), unless it sits among other English words (an English name or sentence the user wrote)."""
    found: set[str] = set()
    for text in texts:
        template_text = "{{" in text  # a message template's text (in either language) is what a manager writes
        text = PLACEHOLDER_RE.sub(" ", text)
        if usernames and "(" in text:  # "林晓燕 (advisor)": a sign-in name, not a role code
            text = re.sub(r"\(([a-z0-9._-]+)\)", lambda m: " " if m.group(1) in usernames else m.group(0), text)
        for token in CODE_RE.findall(text):
            if (token in codes or "_" in token) and token not in COLUMNS:
                found.add(token)
        for first, second in PAIR_RE.findall(text):  # "earn/review +50": a kind and a source as codes
            if first in codes and second in codes:
                found.add(f"{first}/{second}")
        for before, after in ARROW_RE.findall(text):
            if after in codes and (before in codes or before in ("–", "-")):
                found.add(f"{before} → {after}")
        if chinese and not template_text and not ENGLISH_RE.search(text):  # "更换空调滤芯 / Cabin filter" is a name in both languages
            words = [w for w in WORD_RE.findall(text) if w not in ALLOW]
            if words and all(w in codes for w in words):
                found |= set(words)
    return found


def pattern(url: str) -> str:
    """The URL with its numbers and tokens replaced, so that one page of each kind is walked."""
    path = urlsplit(url).path
    return re.sub(r"/[0-9]+(?=/|$)", "/N", re.sub(r"/[A-Za-z0-9_:-]{20,}(?=/|$)", "/T", path))


def detail_pages() -> list[str]:
    """One detail page of each kind that has a history, reached in a couple of clicks from lists and searches: the
    pages with timelines (appointments, follow-ups, handovers, orders, cases, inspections) and the busiest customer."""
    from django.db.models import Count

    from aftersales.appointments.models import Appointment
    from aftersales.customers.models import Customer
    from aftersales.feedback.models import FeedbackCase, FollowUp
    from aftersales.inspections.models import Inspection
    from aftersales.reception.models import Handover
    from aftersales.workshop.models import RepairOrder

    pages = []
    for model, url in ((Appointment, "/appointments/{}/"), (FollowUp, "/feedback/followups/{}/"),
                       (Handover, "/reception/{}/"), (RepairOrder, "/orders/{}/"), (FeedbackCase, "/feedback/cases/{}/"),
                       (Inspection, "/inspections/{}/")):
        rows = model.objects.annotate(n=Count("events")).order_by("-n", "id").values_list("pk", flat=True)[:1]
        pages += [url.format(pk) for pk in rows]
    busiest = Customer.objects.annotate(n=Count("audit_events")).order_by("-n", "id").values_list("pk", flat=True)[:1]
    pages += [f"/customers/{pk}/" for pk in busiest]
    return pages


def walk(client: Client, codes: set[str], chinese: bool, limit: int = 200) -> dict[str, set[str]]:
    usernames = frozenset(User.objects.values_list("username", flat=True))
    seen_patterns: set[str] = set()
    queue: list[tuple[str, int]] = [(url, 1) for url in detail_pages()] + [("/", 0)]
    problems: dict[str, set[str]] = defaultdict(set)
    while queue and len(seen_patterns) < limit:
        url, depth = queue.pop(0)
        key = pattern(url) + ("?" + urlsplit(url).query.split("=")[0] if "?" in url else "")
        if key in seen_patterns or SKIP_URL.search(urlsplit(url).path):
            continue
        seen_patterns.add(key)
        response = client.get(url)
        if response.status_code != 200 or "text/html" not in response.get("Content-Type", ""):
            continue
        page = Visible()
        page.feed(response.content.decode())
        found = raw_codes(page.texts, codes, chinese, usernames)
        found |= {"stored code " + t[:40] for t in page.texts if '{"_t":' in t}  # a coded reason shown unrendered
        if found:
            problems[url] |= found
        if depth < 3:
            queue += [(link, depth + 1) for link in page.links]
    return problems


@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_staff_pages_show_no_raw_codes(language):
    call_command("load_demo", verbosity=0)
    codes = code_values()
    assert {"booked", "walk_in", "awaiting_signature", "in_progress"} <= codes
    admin = User.objects.get(username=ADMIN[0])
    admin.language = language
    admin.save(update_fields=["language"])
    client = Client()
    client.force_login(admin)
    problems = walk(client, codes, chinese=language == "zh-hans")
    assert not problems, "\n".join(f"{url}: {', '.join(sorted(found))}" for url, found in sorted(problems.items()))


def test_the_detector_finds_the_slips_of_the_issue():
    codes = {"booked", "walk_in", "open", "draft", "awaiting_signature", "in_progress", "completed", "earn", "review"}
    texts = ["– → booked", "渠道 walk_in", "open → open", "draft / awaiting_signature", "已停止 (booked)",
             "in_progress → completed", "(earn/review +50)"]
    found = raw_codes(texts, codes, chinese=True)
    assert {"– → booked", "walk_in", "open → open", "awaiting_signature", "booked", "in_progress → completed", "earn/review"} <= found
    assert not raw_codes(["已预约 → 已到店", "粤B12345 · 10,000 km", "a@b.com"], codes, chinese=True)
    assert not raw_codes(["Booked → Arrived", "The car is booked in."], codes, chinese=False)
