"""Schemathesis over the published OpenAPI document (issue 13, item 7): every operation, called in-process (WSGI) with
data generated from its schema, as two roles (a store manager and a technician, each with a bearer token), answers
without a 5xx, with a documented status code, and with a body that matches the documented schema.

Bounded to fit CI: ``SCHEMATHESIS_MAX_EXAMPLES`` examples per operation and role (default 2), derandomized so a run is
reproducible; the whole pass takes well under a minute on the CI machine."""

from __future__ import annotations

import os
import time

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from aftersales.common.tests.api_helpers import PUBLIC_ENDPOINTS, token_issuer, token_key_for

MAX_EXAMPLES = int(os.environ.get("SCHEMATHESIS_MAX_EXAMPLES", "2"))
#: operations left out: revoking a token could revoke the caller's own (then every later call is a 401)
SKIP = {("DELETE", "/api/staff/tokens/{token_id}"), ("POST", "/api/staff/tokens/{token_id}/revoke")}


def not_a_server_error(ctx, response, case):
    assert response.status_code < 500, f"{case.method} {case.formatted_path}: {response.status_code} {response.text[:300]}"


@pytest.fixture
def schema():
    """The published document, loaded and called through the WSGI app in this process. As Django's test client does,
    requests keep the test's database connection open (no close_old_connections at request start and end)."""
    from django.core.signals import request_finished, request_started
    from django.db import close_old_connections

    from aftersales.wsgi import application

    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield schemathesis.openapi.from_wsgi("/api/openapi.json", application)
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


@pytest.mark.django_db
def test_every_operation_keeps_its_schema_for_two_roles(world, schema):
    issuer = token_issuer(world.a)
    keys = {role: token_key_for(user, actor=issuer, name=f"schemathesis {role}")
            for role, user in (("manager", world.manager), ("technician", world.technician))}
    public = {(m.upper(), p) for m, p in PUBLIC_ENDPOINTS}
    failures: list[str] = []
    calls = 0
    started = time.monotonic()
    for result in schema.get_all_operations():
        operation = result.ok()
        key = (operation.method.upper(), operation.path)
        if key in SKIP or key in public:
            continue
        for role, token in keys.items():
            headers = {"Authorization": f"Bearer {token}"}

            @given(case=operation.as_strategy())
            @settings(max_examples=MAX_EXAMPLES, deadline=None, derandomize=True, database=None,
                      phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
            def check(case):
                nonlocal calls
                calls += 1
                response = case.call(headers=headers)  # noqa: B023  (check() runs in this loop turn)
                case.validate_response(response, checks=[
                    not_a_server_error, status_code_conformance, content_type_conformance,
                    response_schema_conformance,
                ])

            try:
                check()
            except (Exception, BaseExceptionGroup) as exc:  # schemathesis raises a group of failures
                failures.append(f"{role} {key[0]} {key[1]}: {str(exc)[:600]}")
    elapsed = time.monotonic() - started
    print(f"schemathesis: {calls} calls in {elapsed:.1f}s")
    assert calls > 0, failures[:3]
    assert failures == [], "\n\n".join(failures)
