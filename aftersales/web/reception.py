"""The advisor's reception greeting, assembled at the top from each app's selectors (CONTRIBUTING "Layers").

``appointments`` knows who the customer is and today's booking (``reception_lookup``); apps above it add what the
advisor must know at once: the tier (engagement), open complaints (feedback), care items due (care) and declined work
(estimates) on the card's own fields, and the connected car's open alerts as a section of the card
(``telematics.selectors.alerts_for_customers``). Nothing below imports this module."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from typing import Any

from django.contrib.auth.decorators import login_required, permission_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from aftersales.appointments import selectors as appointment_selectors
from aftersales.appointments.selectors import ReceptionCard
from aftersales.care.choices import ReminderStatus
from aftersales.care.models import Reminder
from aftersales.common.scoping import default_store, restrict_to_stores, visible_store_ids
from aftersales.common.views import found as _found
from aftersales.engagement.models import CustomerTier
from aftersales.estimates.selectors import declined_for_customers
from aftersales.feedback.choices import OPEN_CASE_STATES
from aftersales.feedback.selectors import cases_visible_to
from aftersales.telematics import selectors as telematics_selectors


def greeting_cards(user: Any, store: Any, q: str, now: dt.datetime | None = None) -> list[ReceptionCard]:
    """The reception cards for ``q`` (plate, phone or name), each with what the apps above appointments add.
    A fixed number of queries whatever the number of customers found."""
    now = now or timezone.now()
    cards = appointment_selectors.reception_lookup(user, store, q, now=now)
    if not cards:
        return cards
    extras = _reception_extras(user, [card.customer.pk for card in cards], now)
    for card in cards:
        pk = card.customer.pk
        card.tier = extras["tier"].get(pk)
        card.open_cases = extras["cases"].get(pk, [])
        card.due = extras["due"].get(pk, [])
        card.declined = extras["declined"].get(pk, [])
    alerts = telematics_selectors.alerts_for_customers(user, [card.customer.pk for card in cards])
    for card in cards:
        found = alerts.get(card.customer.pk)
        if found:
            booked = {r.appointment.vehicle_id for r in card.today}
            card.sections.append(("telematics/_reception_alerts.html", {"alerts": found, "booked": booked}))
    return cards


def _reception_extras(user: Any, ids: list[int], now: dt.datetime) -> dict[str, dict[Any, Any]]:
    """What the advisor must know at once (SPEC §3): tier, open complaints, due care items, declined work.
    One query each for all the customers found, whatever their number."""
    out: dict[str, dict[Any, Any]] = {"tier": {}, "cases": defaultdict(list), "due": defaultdict(list), "declined": defaultdict(list)}
    for row in CustomerTier.objects.filter(customer_id__in=ids):
        out["tier"][row.customer_id] = row
    for case in cases_visible_to(user).filter(customer_id__in=ids, status__in=OPEN_CASE_STATES).order_by("-created_at")[:50]:
        out["cases"][case.customer_id].append(case)
    soon = timezone.localdate(now) + dt.timedelta(days=30)
    reminders = restrict_to_stores(Reminder.objects.all(), user).filter(
        customer_id__in=ids, status__in=(ReminderStatus.DUE, ReminderStatus.SENT), due_date__lte=soon
    ).select_related("vehicle").order_by("due_date")[:50]
    for reminder in reminders:
        out["due"][reminder.customer_id].append(reminder)
    # declined work still recommended: not offered again since, not an option left aside for another one
    for found in declined_for_customers(user=user, customer_ids=ids):
        if found.declined_at is None or found.declined_at >= now - dt.timedelta(days=365):
            out["declined"][found.order.customer_id].append(found)
    return out


@login_required
@permission_required("appointments.view_appointment", raise_exception=True)
def reception(request: HttpRequest) -> HttpResponse:
    """The arrival screen: enter the plate or phone and see at once who it is, today's booking and what to raise."""
    from aftersales.stores.models import Store

    raw = request.GET.get("store") or ""
    store = _found(default_store, request.user, int(raw) if raw.isdigit() else None)
    q = (request.GET.get("q") or "").strip()
    cards = greeting_cards(request.user, store, q) if q else []
    template = "appointments/_reception_cards.html" if request.htmx else "appointments/reception.html"
    stores = list(Store.objects.filter(pk__in=visible_store_ids(request.user)).order_by("name", "id"))
    return render(request, template, {
        "store": store, "stores": stores, "q": q, "cards": cards, "now": timezone.now(),
        "can_change": request.user.has_perm("appointments.change_appointment"),
    })
