"""Reads for customers, always scoped to the acting user."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Count, Exists, OuterRef, Prefetch, Q, QuerySet
from django.utils.translation import gettext_lazy

from aftersales.common.scoping import get_or_404, restrict_customers, spans_group, visible_store_ids
from aftersales.common.validators import PROVINCES

from .models import Consent, Customer, CustomerStore

SEARCH_LIMIT = 20
_CJK = re.compile(r"[\u4e00-\u9fff]")
_PLATE_CHARS = re.compile(r"^[\u4e00-\u9fffA-Za-z0-9]+$")
_PLATE_START = re.compile(rf"^[{PROVINCES}][A-Z]")


def customers_visible_to(user: Any) -> QuerySet[Customer]:
    return restrict_customers(Customer.objects.all(), user)


def customer_get(user: Any, customer_id: int) -> Customer:
    return get_or_404(customers_visible_to(user).select_related("home_store", "preferred_advisor"), pk=customer_id)


def customer_list(
    user: Any, *, q: str = "", store_id: int | None = None, tag: str = "", incomplete: bool = False
) -> QuerySet[Customer]:
    qs = customers_visible_to(user)
    if q:
        qs = qs.filter(pk__in=search_customer_ids(user, q, limit=500))
    if store_id:
        qs = qs.filter(Exists(CustomerStore.objects.filter(customer_id=OuterRef("pk"), store_id=store_id)))
    if tag:
        qs = qs.filter(tags__name=tag)
    if incomplete:
        qs = qs.filter(incomplete_q())
    return qs.order_by("-id")


def _scoped_vehicle_owner_ids(user: Any, condition: Q, limit: int) -> list[int]:
    from aftersales.vehicles.models import Vehicle

    qs = Vehicle.objects.filter(condition, owner__isnull=False)
    if not user.is_superuser:
        qs = qs.filter(group_id=user.dealer_group_id)
        if not spans_group(user):
            link = CustomerStore.objects.filter(customer_id=OuterRef("owner_id"), store_id__in=visible_store_ids(user))
            qs = qs.filter(Exists(link))
    # No ORDER BY: with one, PostgreSQL walks the primary key filtering row by row instead of using the index.
    return list(qs.order_by().values_list("owner_id", flat=True)[:limit])


def search_customer_ids(user: Any, q: str, limit: int = SEARCH_LIMIT) -> list[int]:
    """Customer ids matching one search box: name, any part of the mobile, plate or VIN.

    Each branch is a separate query that an index serves on PostgreSQL (pg_trgm for substrings of 3+
    characters, a pattern btree for 1–2 character name and plate prefixes), their ids merged in order.
    A query that no index could serve (a 2-character substring) is not run: it would scan the whole table.
    See bench/README.md for the measurements behind these rules.
    """
    text = "".join(q.split())
    if len(text) < 2:
        return []
    upper = text.upper()
    ids: list[int] = []
    scoped = customers_visible_to(user).order_by()
    if text.isdigit():
        if len(text) >= 3:
            ids += scoped.filter(mobile_digits__contains=text).values_list("id", flat=True)[:limit]
            ids += _scoped_vehicle_owner_ids(user, Q(plate__contains=upper) | Q(vin__contains=upper), limit)
    else:
        name_q = Q(name__startswith=text) if len(text) <= 2 else Q(name__icontains=text)
        ids += scoped.filter(name_q).values_list("id", flat=True)[:limit]
        if _PLATE_CHARS.match(text):
            if _CJK.search(text):
                if _PLATE_START.match(upper):  # 粤B, 粤B12…: the start of a plate, never a name
                    ids += _scoped_vehicle_owner_ids(user, Q(plate__startswith=upper), limit)
            elif len(text) >= 3:
                ids += _scoped_vehicle_owner_ids(user, Q(plate__contains=upper) | Q(vin__contains=upper), limit)
    return list(dict.fromkeys(ids))[:limit]


def customer_search(user: Any, q: str, limit: int = SEARCH_LIMIT) -> list[Customer]:
    """The search box: matching customers with their vehicles, in a fixed number of queries."""
    from aftersales.vehicles.models import Vehicle

    ids = search_customer_ids(user, q, limit)
    if not ids:
        return []
    found = {
        c.pk: c
        for c in Customer.objects.filter(pk__in=ids).prefetch_related(
            Prefetch("vehicles", queryset=Vehicle.objects.only("id", "owner_id", "plate", "vin", "make", "model"))
        )
    }
    return [found[i] for i in ids if i in found]


def incomplete_q() -> Q:
    """Customers missing a required field: a name, a mobile, a vehicle with a valid VIN and a plate."""
    from aftersales.vehicles.models import Vehicle

    complete_vehicle = Vehicle.objects.filter(owner_id=OuterRef("pk")).exclude(plate="").exclude(vin="")
    return Q(name="") | Q(mobile="") | Q(~Exists(complete_vehicle))


def completeness_report(user: Any) -> dict[str, Any]:
    qs = customers_visible_to(user)
    counts = qs.aggregate(total=Count("id"), incomplete=Count("id", filter=incomplete_q()))
    total = counts["total"] or 0
    incomplete = counts["incomplete"] or 0
    return {
        "total": total,
        "incomplete": incomplete,
        "complete_pct": round(100 * (total - incomplete) / total, 1) if total else 100.0,
    }


def current_consents(consents: list[Consent]) -> dict[tuple[str, str], Consent]:
    """The latest consent per (purpose, channel) from a list ordered newest first."""
    out: dict[tuple[str, str], Consent] = {}
    for consent in consents:
        out.setdefault((consent.purpose, consent.channel), consent)
    return out


@dataclass
class Customer360:
    customer: Customer
    vehicles: list[Any]
    orders: list[Any]
    consents: list[Consent]
    current_consents: dict[tuple[str, str], Consent]
    audit: list[Any]
    stores: list[Any]
    ownership_history: list[Any]
    # filled at the top (aftersales.web.customer360) from the workshop's, messaging's and parts' selectors:
    totals: dict[str, Any] = field(default_factory=dict)
    messages: list[Any] = field(default_factory=list)  # newest messages sent to the customer from the user's stores
    fitted_parts: dict[int, list[Any]] = field(default_factory=dict)  # vehicle id → parts fitted, with warranty


ORDERS_ON_360 = 50
AUDIT_ON_360 = 30


def customer_360_records(user: Any, customer_id: int) -> Customer360:
    """What this app holds for the 360 page (the customer, cars, ownership, consents, audit trail, stores), in a fixed
    number of queries. The page itself is assembled at the top (``aftersales.web.customer360``), which adds the
    visits, messages and parts fitted from those apps' own selectors (issue 19: no import upward from here)."""
    from aftersales.common.audit import prefetch_audit_names
    from aftersales.common.models import AuditEvent
    from aftersales.vehicles.models import Vehicle, VehicleOwnership

    customer = get_or_404(
        customers_visible_to(user).select_related("home_store", "preferred_advisor").prefetch_related("tags"),
        pk=customer_id,
    )
    vehicles = list(Vehicle.objects.filter(owner=customer).select_related("selling_store").order_by("-id"))
    ownership = list(
        VehicleOwnership.objects.filter(customer=customer).select_related("vehicle").order_by("-started_on")
    )
    consents = list(Consent.objects.filter(customer=customer).select_related("recorded_by"))
    audit_rows: list[Any] = []
    if user.has_perm("common.view_auditevent"):
        audit_rows = list(AuditEvent.objects.filter(customer=customer).select_related("actor")[:AUDIT_ON_360])
        prefetch_audit_names(audit_rows)
    stores = list(customer.stores.all())
    return Customer360(
        customer=customer,
        vehicles=vehicles,
        orders=[],
        consents=consents,
        current_consents=current_consents(consents),
        audit=audit_rows,
        stores=stores,
        ownership_history=ownership,
    )


#: functions ``(customer) -> {section: rows}`` adding what the higher apps hold about a customer to the export; each
#: app registers its own in ``AppConfig.ready()`` (workshop the repair orders, the portal the retention apps' sections)
EXPORT_SECTIONS: list[Any] = []


def register_export_section(fn: Any) -> None:
    if fn not in EXPORT_SECTIONS:
        EXPORT_SECTIONS.append(fn)


def customer_export_data(customer: Customer) -> dict[str, Any]:
    """Every personal record we hold for one customer (used by the export service): this app's own records, then the
    sections the higher apps registered (``EXPORT_SECTIONS``); labels in the active language."""
    from aftersales.common.audit import plain
    from aftersales.vehicles.models import MileageReading, Vehicle, VehicleOwnership

    def row(obj: Any, fields: list[str]) -> dict[str, Any]:
        return {f: plain(getattr(obj, f)) for f in fields}

    vehicles = list(Vehicle.objects.filter(Q(owner=customer) | Q(ownerships__customer=customer)).distinct())
    data: dict[str, Any] = {
        "format": "aftersales.customer-export/2",
        "customer": row(customer, [
            "id", "name", "title", "mobile", "email", "address", "birthday", "preferred_channel",
            "preferences", "notes", "points_balance", "created_at", "updated_at",
        ]),
        "stores": [s.name for s in customer.stores.all()],
        "tags": [t.name for t in customer.tags.all()],
        "consents": [
            row(c, ["purpose", "channel", "granted", "at", "source", "note"]) for c in customer.consents.all()
        ],
        "vehicles": [
            {
                **row(v, [
                    "id", "vin", "plate", "make", "model", "year", "colour", "fuel_type", "purchase_date",
                    "purchase_price", "insurance_company", "insurance_expiry", "warranty_start", "warranty_end",
                    "current_mileage",
                ]),
                "is_current_owner": v.owner_id == customer.pk,
                "mileage_readings": [
                    row(r, ["km", "read_at", "source", "is_correction", "note"])
                    for r in MileageReading.objects.filter(vehicle=v)
                ],
            }
            for v in vehicles
        ],
        "ownerships": [
            row(o, ["vehicle_id", "started_on", "ended_on", "reason"])
            for o in VehicleOwnership.objects.filter(customer=customer)
        ],
    }
    fields = data.pop("fields", {})
    for section in EXPORT_SECTIONS:
        more = section(customer)
        fields.update(more.pop("fields", {}))
        data.update(more)
    data["fields"] = fields
    return data


def store_customers(store_ids: list[int]) -> QuerySet[Customer]:
    """THE definition of "a store's customers", used by the tier report, the segments' store criterion and the
    playbooks alike: the customers whose home store it is (where they were registered, or moved to), anonymised
    customers excluded. A customer who also visited another store counts at their home store only, so the stores'
    counts add up to the group's."""
    return Customer.objects.filter(home_store_id__in=store_ids, anonymised_at__isnull=True)


#: what the pages say "a store's customers" means (the tier report, the segment form)
STORE_CUSTOMERS_MEANING = gettext_lazy(
    "A store's customers are those whose home store it is (where they were registered, or moved to); a customer who "
    "also visits other stores counts once, at the home store; deleted (anonymised) customers are not counted. Tier "
    "counts, segments and playbooks all use this.")
