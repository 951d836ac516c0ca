"""The advisor's reception greeting, assembled at the top from each app's selectors (CONTRIBUTING "Layers").

``appointments`` knows who the customer is and today's booking (``reception_lookup``); apps above it add what the
advisor must know at once as sections of the card, read through their own selectors: so far the connected car's open
alerts (``telematics.selectors.alerts_for_customers``). Nothing below imports this module."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.decorators import login_required, permission_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from aftersales.appointments import selectors as appointment_selectors
from aftersales.appointments.selectors import ReceptionCard
from aftersales.common.scoping import default_store, visible_store_ids
from aftersales.common.views import found as _found
from aftersales.telematics import selectors as telematics_selectors


def greeting_cards(user: Any, store: Any, q: str) -> list[ReceptionCard]:
    """The reception cards for ``q`` (plate, phone or name), each with the sections of the apps above appointments.
    A fixed number of queries whatever the number of customers found."""
    cards = appointment_selectors.reception_lookup(user, store, q)
    if not cards:
        return cards
    alerts = telematics_selectors.alerts_for_customers(user, [card.customer.pk for card in cards])
    for card in cards:
        found = alerts.get(card.customer.pk)
        if found:
            booked = {r.appointment.vehicle_id for r in card.today}
            card.sections.append(("telematics/_reception_alerts.html", {"alerts": found, "booked": booked}))
    return cards


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
