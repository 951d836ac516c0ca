"""The published OpenAPI document can be trusted by integrators (issue 13, item 7).

django-ninja names a schema component after its class; two classes with the same name (AdjustIn in parts and in
loyalty, ...) silently became one component, so ``POST /api/parts/{id}/adjust`` documented loyalty's body. Every
schema class the API uses must have a name of its own, and each operation's documented body must be its own.
"""

from __future__ import annotations

import collections

from ninja import Schema

from aftersales.api import api


def _schema_classes() -> list[type]:
    found, stack = [], [Schema]
    while stack:
        cls = stack.pop()
        for sub in cls.__subclasses__():
            stack.append(sub)
            if sub.__module__.startswith("aftersales."):
                found.append(sub)
    return found


def test_no_two_schema_classes_share_a_component_name():
    components = set(api.get_openapi_schema()["components"]["schemas"])
    by_name = collections.defaultdict(set)
    for cls in _schema_classes():
        if cls.__name__ in components:
            by_name[cls.__name__].add(f"{cls.__module__}.{cls.__qualname__}")
    duplicates = {name: sorted(where) for name, where in by_name.items() if len(where) > 1}
    assert duplicates == {}, duplicates


def test_each_operation_documents_its_own_body():
    spec = api.get_openapi_schema()
    ops = spec["paths"]

    def body(path: str, method: str) -> dict:
        ref = ops[path][method]["requestBody"]["content"]["application/json"]["schema"]["$ref"]
        return spec["components"]["schemas"][ref.rsplit("/", 1)[-1]]

    assert "quantity" in body("/api/parts/{part_id}/adjust", "post")["properties"]
    assert "points" in body("/api/loyalty/customers/{customer_id}/adjust", "post")["properties"]
    assert "mobile" in body("/api/customers/", "post")["properties"]
    assert "vin" in body("/api/vehicles/", "post")["properties"]
