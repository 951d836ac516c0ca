"""Wild numbers are a 422 naming the field, never a 500 (issue 13, item 6).

Property tests over the published API: every list endpoint with a ``page`` (from the OpenAPI document, so a new list
is covered the day it is added) and every number field of every request body (money, quantities, mileage, years,
points, thresholds), each sent a wild value (1e30, 10**40, -1e30, NaN, Infinity, ...) by a group admin. Bodies
are built from the schema with the world's real objects in the path, so the value reaches the services.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from aftersales.api import api
from aftersales.billing.services import invoice_issue, payment_record
from aftersales.billing.tests.helpers import ready_order
from aftersales.common.pagination import MAX_PAGE
from aftersales.common.tests.api_helpers import Api
from aftersales.parts.services import stock_receive
from aftersales.parts.tests.helpers_purchasing import make_part

pytestmark = pytest.mark.django_db

SPEC = api.get_openapi_schema()
COMPONENTS = SPEC["components"]["schemas"]
NUMBER_NAMES = re.compile(r"(amount|price|cost|quantity|qty|rate|hours|discount|km|mileage|points)$")
WILD = st.one_of(
    st.sampled_from([1e30, -1e30, 10**40, -(10**40), "1e30", "1E+400", "NaN", "Infinity", "-Infinity", 2**63, 2**31,
                     "99999999999999999999.99"]),
    st.integers(min_value=10**10, max_value=10**60),
    st.decimals(min_value=Decimal("1e10"), max_value=Decimal("1e50"), allow_nan=False, places=2).map(str),
)
SETTINGS = settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                             HealthCheck.too_slow])


def _resolve(schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = COMPONENTS[schema["$ref"].rsplit("/", 1)[-1]]
    return schema


def _is_number(schema: dict[str, Any]) -> bool:
    schema = _resolve(schema)
    options = [_resolve(s) for s in schema.get("anyOf", [schema])]
    return any(o.get("type") in ("number", "integer") or o.get("format") == "decimal" for o in options)


def _number_fields(schema: dict[str, Any], path: str = "") -> list[str]:
    """Dotted paths (lists as [0]) of the number fields of a body: numbers, integers and money-like strings."""
    schema = _resolve(schema)
    if "anyOf" in schema:
        return [f for option in schema["anyOf"] for f in _number_fields(option, path)]
    out: list[str] = []
    if schema.get("type") == "object":
        for name, prop in schema.get("properties", {}).items():
            sub = f"{path}.{name}" if path else name
            resolved = _resolve(prop)
            if resolved.get("type") in ("object", "array") or ("anyOf" in resolved and not _is_number(prop)):
                out += _number_fields(prop, sub)
            elif (_is_number(prop) and not name.endswith("id") and not name.endswith("ids")) or (
                resolved.get("type") == "string" and NUMBER_NAMES.search(name)
            ):
                out.append(sub)
    elif schema.get("type") == "array":
        out += _number_fields(schema.get("items", {}), f"{path}[0]")
    return out


def _example(schema: dict[str, Any]) -> Any:
    """A minimal body of the right shape (required fields only; lists with one element)."""
    schema = _resolve(schema)
    if "anyOf" in schema:
        return _example(next(s for s in schema["anyOf"] if _resolve(s).get("type") != "null"))
    kind = schema.get("type")
    if kind == "object":
        props = schema.get("properties", {})
        return {k: _example(v) for k, v in props.items() if k in schema.get("required", [])}
    if kind == "array":
        return [_example(schema.get("items", {}))]
    if "enum" in schema:
        return schema["enum"][0]
    return {"integer": 1, "number": 1, "boolean": False, "string": "1"}.get(kind, "1")


def _set(body: Any, path: str, value: Any) -> Any:
    parts = re.findall(r"[^.\[\]]+|\[\d+\]", path)
    target = body
    for n, part in enumerate(parts):
        last = n == len(parts) - 1
        if part.startswith("["):
            index = int(part[1:-1])
            while len(target) <= index:
                target.append({})
            if last:
                target[index] = value
            else:
                target = target[index]
        elif last:
            target[part] = value
        else:
            target = target.setdefault(part, [] if parts[n + 1].startswith("[") else {})
    return body


OPERATIONS = [
    (method.upper(), path, op)
    for path, ops in SPEC["paths"].items() for method, op in ops.items()
]
LISTS = [(m, p) for m, p, op in OPERATIONS if m == "GET" and any(x["name"] == "page" for x in op.get("parameters", []))]
BODY_FIELDS = [
    (m, p, field, op["requestBody"]["content"]["application/json"]["schema"])
    for m, p, op in OPERATIONS if "application/json" in op.get("requestBody", {}).get("content", {})
    for field in _number_fields(op["requestBody"]["content"]["application/json"]["schema"])
]


@pytest.fixture
def things(world):
    """Real objects for the path parameters, so that a body reaches its service."""
    from aftersales.workshop.models import RepairJob

    manager = world.manager
    part = make_part(world.group, "BN-1", name_zh="机油滤清器", sale_price="50.00")
    stock_receive(actor=world.staff["parts_clerk"], store=world.a, part=part, quantity=10, unit_cost="20")
    order = ready_order(world)
    invoice = invoice_issue(actor=manager, order=order)
    payment = payment_record(actor=manager, invoice=invoice, method="cash", amount="10.00", idempotency_key="bn")
    job = RepairJob.objects.filter(order=order).first()
    from aftersales.common.tests.factories import CustomerFactory, VehicleFactory
    from aftersales.workshop.services import repair_order_check_in

    customer = CustomerFactory(home_store=world.a)
    open_order = repair_order_check_in(actor=manager, store=world.a, customer=customer,
                                       vehicle=VehicleFactory(owner=customer), mileage=1000)
    ids = {
        "part_id": part.pk, "invoice_id": invoice.pk, "payment_id": payment.pk, "order_id": order.pk, "job_id": job.pk,
        "customer_id": order.customer_id, "vehicle_id": order.vehicle_id, "store_id": world.a.pk,
        "open_order_id": open_order.pk,
    }
    return ids


def templates(ids: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    """Otherwise valid bodies for the money and quantity fields the issue named (and their neighbours): here the
    wild number must come back as a 422 naming exactly that field."""
    return {
        ("POST", "/api/billing/invoices/{invoice_id}/payments"): {"method": "cash", "amount": "1", "idempotency_key": "k"},
        ("POST", "/api/billing/invoices/{invoice_id}/credit-notes"): {"amount": "1", "reason": "wrong price"},
        ("POST", "/api/billing/payments/{payment_id}/refunds"): {"amount": "1", "reason": "r", "idempotency_key": "k"},
        ("POST", "/api/parts/"): {"number": "WILD-1", "name_zh": "配件"},
        ("PATCH", "/api/parts/{part_id}"): {},
        ("POST", "/api/parts/{part_id}/receive"): {"quantity": "1", "unit_cost": "10"},
        ("POST", "/api/parts/reservations"): {"part_id": ids["part_id"], "quantity": "1", "reference": "job:1"},
        ("POST", "/api/parts/{part_id}/adjust"): {"quantity": "1", "reason": "count"},
        ("POST", "/api/estimates/orders/{order_id}/jobs"): {
            "title": "Brakes", "lines": [{"kind": "labour", "description": "work", "quantity": "1", "unit_price": "1"}]},
        ("PUT", "/api/estimates/rates"): {"job_type": "repair", "rate": "100"},
        ("POST", "/api/vehicles/{vehicle_id}/mileage"): {"km": 1},
    }


NAMED = set(templates({"part_id": 1}))


def _wild(value: Any) -> bool:
    number = Decimal(str(value))
    return not number.is_finite() or abs(number) >= Decimal("1e10")


def _fill(path: str, ids: dict[str, int]) -> str:
    return re.sub(r"\{([a-z_]+)\}", lambda m: str(ids.get(m.group(1), 1)), path)


def test_every_list_and_number_field_is_found():
    # The discovery works: the lists and the money and quantity fields the issue named are all covered.
    assert len(LISTS) >= 15
    found = {(m, p, f) for m, p, f, _s in BODY_FIELDS}
    for expected in [("POST", "/api/billing/invoices/{invoice_id}/payments", "amount"),
                     ("POST", "/api/billing/invoices/{invoice_id}/credit-notes", "amount"),
                     ("POST", "/api/billing/payments/{payment_id}/refunds", "amount"),
                     ("POST", "/api/parts/", "sale_price"), ("PATCH", "/api/parts/{part_id}", "cost_price"),
                     ("POST", "/api/parts/{part_id}/receive", "quantity"), ("POST", "/api/parts/reservations", "quantity")]:
        assert expected in found, expected
    assert {(m, p) for m, p, _f in found} >= NAMED


@SETTINGS
@given(page=st.one_of(st.integers(min_value=MAX_PAGE + 1, max_value=10**40), st.integers(max_value=0)))
def test_wild_page_numbers_are_422_on_every_list(world, page):
    api_client = Api.session(world.admin)
    for _method, path in LISTS:
        response = api_client.get(_fill(path, {}), {"page": page})
        assert response.status_code == 422, (path, page, response.status_code, response.content[:200])
        assert response.json()["field"] == "page", (path, response.json())


def test_a_sane_page_still_works(world):
    response = Api.session(world.admin).get("/api/customers/", {"page": 3})
    assert response.status_code in (200, 404)


@pytest.mark.parametrize(("method", "path", "field", "schema"), BODY_FIELDS,
                         ids=[f"{m} {p} {f}" for m, p, f, _s in BODY_FIELDS])
def test_wild_numbers_in_bodies_are_refused_naming_the_field(world, things, method, path, field, schema):
    api_client = Api.session(world.admin)
    url = _fill(path, {**things, "order_id": things["open_order_id"]} if path.startswith("/api/estimates/") else things)

    template = templates(things).get((method, path))

    @SETTINGS
    @given(value=WILD)
    def check(value):
        body = _set(dict(template) if template is not None else _example(schema), field, value)
        if isinstance(body, dict) and "idempotency_key" in body:
            body["idempotency_key"] = f"wild-{value}"
        response = api_client.request(method, url, body)
        assert response.status_code < 500, (method, path, field, value, response.status_code, response.content[:300])
        if template is not None and _wild(value):  # an otherwise valid body: refused for exactly this field
            assert response.status_code == 422, (method, path, field, value, response.status_code, response.content[:300])
            leaf = re.sub(r"\[\d+\]", "", field).rsplit(".", 1)[-1]
            assert (response.json()["field"] or "").endswith(leaf), (method, path, field, value, response.json())

    check()


@SETTINGS
@given(ident=st.integers(min_value=2**63, max_value=10**40))
def test_wild_ids_in_paths_are_422_naming_the_parameter(world, ident):
    api_client = Api.session(world.admin)
    for path, name in [("/api/customers/{customer_id}", "customer_id"), ("/api/vehicles/{vehicle_id}", "vehicle_id"),
                       ("/api/billing/invoices/{invoice_id}", "invoice_id"), ("/api/parts/{part_id}", "part_id")]:
        response = api_client.get(path.replace("{" + name + "}", str(ident)))
        assert response.status_code in (404, 422), (path, response.status_code, response.content[:200])
        if response.status_code == 422:
            assert response.json()["field"] == name


@SETTINGS
@given(value=st.sampled_from(["1e30", "1E+400", "-1e30", "99999999999999999999", "NaN", "Infinity"]))
def test_html_pay_form_refuses_wild_amounts_on_the_field(world, things, value):
    from django.test import Client

    from aftersales.billing.models import Payment

    client = Client()
    client.force_login(world.staff["cashier"])
    before = Payment.objects.count()
    response = client.post(f"/billing/invoices/{things['invoice_id']}/pay/",
                           {"method": "cash", "amount": value, "idempotency_key": f"html-{value}"})
    assert response.status_code == 422, response.status_code
    form = response.context["payment_form"]
    assert "amount" in form.errors, form.errors
    assert Payment.objects.count() == before
