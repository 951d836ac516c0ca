"""The sections of a customer's data export that the higher apps hold (PIPL art. 45), added to the customers app's
own export (``customers.selectors.customer_export_data``) through its section registry, so that the staff export (web
page and API) and the owner's "download my data" give the same, complete answer. Format: docs/portal.md.

Each section is a list of rows; values are typed (numbers as JSON numbers, amounts as exact decimal strings, dates and
times in ISO 8601, ids of other records as numbers); a coded value ``x`` comes with ``x_label``, its meaning in the
reader's language; ``fields`` names every column of every section in the reader's language.
"""

from __future__ import annotations

from typing import Any

from django.apps import apps
from django.core.exceptions import FieldDoesNotExist
from django.db import models

from aftersales.common.audit import plain

#: section: (app label, model, the lookup to the customer, the fields exported in order)
SECTIONS: dict[str, tuple[str, str, str, list[str]]] = {
    "invoices": ("billing", "Invoice", "customer", ["number", "issued_at", "status", "total", "paid_amount",
                                                    "refunded_amount", "credited_amount"]),
    "payments": ("billing", "Payment", "invoice__customer", ["invoice", "method", "amount", "refunded_amount",
                                                             "received_at", "reference"]),
    "appointments": ("appointments", "Appointment", "customer", ["store", "start", "status", "channel",
                                                                 "fault_description"]),
    "points_ledger": ("loyalty", "PointsEntry", "customer", ["at", "kind", "source", "points", "balance_after",
                                                             "expires_on", "cny_value", "note"]),
    "vouchers": ("loyalty", "Voucher", "customer", ["template", "code", "status", "valid_from", "valid_until", "reason",
                                                    "issued_at", "redeemed_at", "discount"]),
    "referrals": ("loyalty", "Referral", "referrer", ["referred", "store", "status", "created_at", "qualified_at"]),
    "referred_by": ("loyalty", "Referral", "referred", ["referrer", "store", "status", "created_at", "qualified_at"]),
    "messages": ("messaging", "Message", "customer", ["created_at", "kind", "channel", "purpose", "status",
                                                      "subject", "body", "sent_at", "delivered_at"]),
    "surveys": ("feedback", "FollowUp", "customer", ["order", "method", "status", "answered_at", "score_overall",
                                                     "score_attitude", "score_quality", "score_waiting", "score_price",
                                                     "score_recommend", "suggestions"]),
    "complaints": ("feedback", "FeedbackCase", "customer", ["kind", "channel", "status", "text", "contact_name",
                                                            "contact_mobile", "created_at", "resolution"]),
    "reminders": ("care", "Reminder", "customer", ["kind", "vehicle", "due_date", "due_km", "remind_on", "detail",
                                                   "status", "action_at"]),
    "care_programmes": ("care", "Enrolment", "customer", ["playbook", "status", "enrolled_at", "contacted_at",
                                                        "finished_at", "stop_reason"]),
    "tier_history": ("engagement", "TierChange", "customer", ["changed_on", "old_tier", "new_tier", "reason",
                                                              "last_visit", "r_days", "f", "m", "source"]),
}


def _value(obj: Any, field: models.Field) -> Any:
    value = getattr(obj, field.attname)
    if isinstance(field, models.DecimalField):
        return None if value is None else str(value)
    return plain(value)


def _section(model: type[models.Model], lookup: str, names: list[str], customer: Any) -> tuple[list[dict[str, Any]],
                                                                                               dict[str, str]]:
    fields = []
    for name in names:
        try:
            fields.append(model._meta.get_field(name))
        except FieldDoesNotExist:  # a column another branch renamed: leave it out rather than fail the export
            continue
    rows = []
    for obj in model._base_manager.filter(**{lookup: customer.pk}).order_by("pk"):
        row: dict[str, Any] = {"id": obj.pk}
        for field in fields:
            row[field.name] = _value(obj, field)
            if field.choices and getattr(obj, field.attname):
                row[f"{field.name}_label"] = str(getattr(obj, f"get_{field.name}_display")())
            elif (field.is_relation and getattr(obj, field.attname) is not None
                  and field.related_model._meta.label_lower != "customers.customer"):  # another person: the id only
                row[f"{field.name}_label"] = str(getattr(obj, field.name))
        rows.append(row)
    labels = {f.name: str(f.verbose_name) for f in fields}
    return rows, labels


def sections(customer: Any) -> dict[str, Any]:
    """Every section of ``SECTIONS`` whose app is installed (an app not installed holds nothing about anyone)."""
    out: dict[str, Any] = {}
    labels: dict[str, dict[str, str]] = {}
    for section, (app_label, model_name, lookup, names) in SECTIONS.items():
        try:
            model = apps.get_model(app_label, model_name)
        except LookupError:
            continue
        out[section], labels[section] = _section(model, lookup, names, customer)
    out["fields"] = labels
    return out
