"""The staff navigation, grouped by area (issue 16 review: forty links wrapped to four rows at desk width).

Each entry names the permission that lets a role open its page; a role sees only the entries it may open and only the
areas that keep at least one. The groups render as native ``<details>`` menus (keyboard: Tab to an area, Enter opens
it; no inline style or script, so the Content-Security-Policy holds); page.js closes the others when one opens."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.urls import reverse
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


@dataclass(frozen=True)
class Item:
    label: Promise
    url: str  # a URL name, or a path when it starts with "/"
    perm: str = ""  # "" for every signed-in member of staff
    testid: str = ""
    staff_only: bool = False  # Django's admin: users with is_staff
    unless: str = ""  # not shown to whoever has this permission (the board's user does not need "My trips")


@dataclass(frozen=True)
class Group:
    key: str
    label: Promise
    items: tuple[Item, ...] = field(default_factory=tuple)


GROUPS: tuple[Group, ...] = (
    Group("customers", pgettext_lazy("navigation menu", "Customers"), (
        Item(_("Search"), "web:home", "customers.view_customer"),
        Item(pgettext_lazy("navigation menu", "Customer list"), "web:customer_list", "customers.view_customer"),
        Item(_("New customer"), "web:customer_create", "customers.add_customer"),
        Item(_("Customer tiers"), "engagement:report", "engagement.view_customertier"),
        Item(_("Care calendar"), "care:calendar", "care.view_reminder", "nav-care"),
        Item(_("Loyalty"), "loyalty:store", "loyalty.view_pointsentry", "nav-loyalty"),
        Item(_("Connected vehicles"), "telematics:home", "telematics.view_device", "nav-telematics"),
        Item(_("Data quality"), "web:data_quality", "customers.view_incomplete"),
    )),
    Group("desk", pgettext_lazy("navigation menu", "Service desk"), (
        Item(_("Appointments"), "appointments:day", "appointments.view_appointment", "nav-appointments"),
        Item(_("Repair orders"), "estimates:order_list", "workshop.view_repairorder", "nav-orders"),
        Item(pgettext_lazy("navigation menu", "Cashier"), "billing:cashier", "billing.add_payment", "nav-cashier"),
        Item(_("Courtesy cars"), "mobility:fleet", "mobility.view_courtesycar", "nav-mobility"),
        Item(_("Pickup and delivery"), "mobility:board", "mobility.add_trip", "nav-trips"),
        Item(_("My trips"), "mobility:driver", "mobility.change_trip", "nav-driver", unless="mobility.add_trip"),
    )),
    Group("workshop", pgettext_lazy("navigation menu", "Workshop"), (
        Item(_("Workshop board"), "workshop:board", "workshop.change_repairjob", "nav-workshop"),
        Item(_("My jobs"), "workshop:my_jobs", "workshop.clock_repairjob", "nav-my-jobs"),
        Item(_("Inspections"), "inspections:list", "inspections.view_inspection", "nav-inspections"),
        Item(_("Quality control"), "inspections:qc_list", "inspections.view_qccheck", "nav-qc"),
    )),
    Group("rescue", pgettext_lazy("navigation menu", "Rescue"), (
        Item(pgettext_lazy("navigation menu", "Rescue dispatch"), "rescue:board", "rescue.dispatch_rescuecase", "nav-rescue"),
        Item(_("My rescue jobs"), "rescue:crew", "rescue.crew_rescuecase", "nav-rescue-crew"),
        Item(_("Damage assessment"), "assessments:list", "assessments.change_assessment", "nav-assessments"),
    )),
    Group("parts", pgettext_lazy("navigation menu", "Parts"), (
        Item(pgettext_lazy("navigation menu", "Find parts"), "parts:part_search", "parts.view_part"),
        Item(_("Purchasing"), "purchasing:reorder", "parts.view_purchaserequisition"),
        Item(_("Transfers"), "purchasing:transfer_list", "parts.view_transfer"),
    )),
    Group("contact", pgettext_lazy("navigation menu", "Customer contact"), (
        Item(_("Messages"), "messaging:message_list", "messaging.view_message"),
        Item(_("Feedback"), "feedback:queue", "feedback.view_feedbackcase", "nav-feedback"),
        Item(_("Follow-ups"), "feedback:followups", "feedback.view_followup", unless="feedback.view_feedbackcase"),
        Item(_("Calls to make"), "messaging:phone_tasks", "messaging.view_phonetask"),
        Item(_("Message templates"), "messaging:template_list", "messaging.change_messagetemplate"),
        Item(_("Channels"), "messaging:channel_settings", "messaging.change_channelsettings"),
    )),
    Group("people", pgettext_lazy("navigation menu", "People"), (
        Item(_("My scorecard"), "analytics:my_scorecard", "", "nav-my-scorecard"),
        Item(_("My training"), "people:me", "", "nav-people-me"),
        Item(_("Certificates"), "people:store", "staff.view_certification", "nav-people"),
        Item(_("Training"), "people:training", "people.view_trainingsession", "nav-training"),
        Item(_("Incentives"), "people:incentives", "analytics.view_dashboard", "nav-incentives"),
        Item(_("Rating terminals"), "people:terminals", "people.view_ratingterminal", "nav-terminals"),
    )),
    Group("manage", pgettext_lazy("navigation menu", "Management"), (
        Item(_("Cockpit"), "analytics:dashboard", "analytics.view_dashboard", "nav-cockpit"),
        Item(_("Background work"), "messaging:background_work", "common.view_taskrun"),
        Item(_("API tokens"), "web:tokens"),
        Item(_("API docs"), "/api/docs"),
        Item(_("Admin"), "admin:index", staff_only=True),
    )),
)


@dataclass
class Entry:
    label: Any
    url: str
    testid: str
    current: bool


@dataclass
class Menu:
    key: str
    label: Any
    entries: list[Entry]
    current: bool


#: the navigation's name for screen readers
NAV_LABEL = pgettext_lazy("navigation menu", "Main menu")


def menus_for(user: Any, path: str) -> list[Menu]:
    """The areas and entries this user may open, the one holding the current page marked."""
    out: list[Menu] = []
    best = ""  # the longest entry URL the path starts with is the current page ("/" only on the search page itself)
    for group in GROUPS:
        entries = []
        for item in group.items:
            if item.staff_only and not user.is_staff:
                continue
            if item.perm and not user.has_perm(item.perm):
                continue
            if item.unless and user.has_perm(item.unless):
                continue
            url = item.url if item.url.startswith("/") else reverse(item.url)
            entries.append(Entry(item.label, url, item.testid, False))
            if (path == url or (url != "/" and path.startswith(url))) and len(url) > len(best):
                best = url
        if entries:
            out.append(Menu(group.key, group.label, entries, False))
    for menu in out:
        for entry in menu.entries:
            if best and entry.url == best:
                entry.current = menu.current = True
    return out
