"""API tests for /api/stores/ plus the API-wide checks: OpenAPI schema, docs page, auth and error shape."""

from __future__ import annotations

import datetime as dt

import pytest

from aftersales.common.tests.api_helpers import ENDPOINTS, PUBLIC_ENDPOINTS, Api, assert_error, fill, ids, token_key_for
from aftersales.stores.models import OpeningPeriod

pytestmark = pytest.mark.django_db


# ---- API-wide -------------------------------------------------------------------------------------------
def test_openapi_lists_every_endpoint(world):
    response = Api.anonymous().get("/api/openapi.json")
    assert response.status_code == 200
    schema = response.json()
    published = {
        (method, path)
        for path, ops in schema["paths"].items()
        for method in ops
        if method in {"get", "post", "patch", "put", "delete"}
    }
    registered = {op for ops in ENDPOINTS.values() for op in ops} | set(PUBLIC_ENDPOINTS)
    assert published == registered
    schemes = schema["components"]["securitySchemes"]
    assert {"TokenAuth", "SessionAuth"} <= set(schemes)


def test_docs_page_renders_for_signed_in_user(world):
    response = Api.session(world.advisor).get("/api/docs")
    assert response.status_code == 200
    assert b"openapi.json" in response.content


@pytest.mark.parametrize(
    ("method", "path"), [op for ops in ENDPOINTS.values() for op in ops], ids=lambda v: str(v)
)
def test_every_endpoint_is_401_without_credentials(world, method, path):
    response = Api.anonymous().request(method, fill(path, world.a.pk), {})
    body = assert_error(response, 401, "unauthenticated")
    assert body["field"] is None


@pytest.mark.parametrize(
    ("method", "path"), [op for ops in ENDPOINTS.values() for op in ops], ids=lambda v: str(v)
)
def test_every_endpoint_is_401_for_an_unknown_token(world, method, path):
    response = Api.bearer("as_not-a-real-token").request(method, fill(path, world.a.pk), {})
    assert_error(response, 401, "unauthenticated")


def test_inactive_user_session_is_401(world):
    api = Api.session(world.advisor)
    world.advisor.is_active = False
    world.advisor.save(update_fields=["is_active"])
    assert_error(api.get("/api/stores/"), 401, "unauthenticated")


# ---- list ----------------------------------------------------------------------------------------------
def test_list_shows_only_own_stores_with_pagination_shape(world):
    response = Api.session(world.advisor).get("/api/stores/")
    assert ids(response) == {world.a.pk}
    assert response.json()["count"] == 1
    assert ids(Api.session(world.advisor_b).get("/api/stores/")) == {world.b.pk}


def test_group_admin_sees_every_store_of_the_group(world):
    assert ids(Api.session(world.admin).get("/api/stores/")) == {world.a.pk, world.b.pk}


def test_list_by_token(world):
    key = token_key_for(world.advisor, actor=world.manager)
    assert ids(Api.bearer(key).get("/api/stores/")) == {world.a.pk}


def test_list_never_includes_another_groups_store(world):
    from aftersales.common.tests.factories import StoreFactory

    other = StoreFactory(name="Elsewhere")
    assert other.pk not in ids(Api.session(world.admin).get("/api/stores/"))


# ---- detail --------------------------------------------------------------------------------------------
def test_detail_has_opening_periods(world):
    OpeningPeriod.objects.create(store=world.a, weekday=0, opens=dt.time(8, 30), closes=dt.time(18, 0))
    response = Api.session(world.technician).get(f"/api/stores/{world.a.pk}")
    assert response.status_code == 200
    body = response.json()
    assert body["code"] == "a"
    assert body["opening_periods"][0]["weekday"] == 0
    assert body["opening_periods"][0]["opens"].startswith("08:30")
    assert body["holidays"] == []


def test_detail_of_a_store_the_user_does_not_belong_to_is_404(world):
    assert_error(Api.session(world.advisor_b).get(f"/api/stores/{world.a.pk}"), 404, "not_found")
    assert_error(Api.session(world.manager).get(f"/api/stores/{world.b.pk}"), 404, "not_found")
    assert Api.session(world.admin).get(f"/api/stores/{world.b.pk}").status_code == 200


def test_detail_of_missing_store_is_404(world):
    assert_error(Api.session(world.admin).get("/api/stores/999999"), 404, "not_found")


def test_path_id_of_the_wrong_type_is_422_naming_the_field(world):
    assert_error(Api.session(world.advisor).get("/api/stores/abc"), 422, "invalid", "store_id")


# ---- query counts --------------------------------------------------------------------------------------
def test_list_query_count_does_not_grow_with_stores(world):
    from aftersales.common.tests.api_helpers import count_queries
    from aftersales.common.tests.factories import StoreFactory

    api = Api.session(world.admin)
    api.get("/api/stores/")  # warm the session / permission caches
    few, response = count_queries(lambda: api.get("/api/stores/"))
    assert response.json()["count"] == 2
    for i in range(10):
        store = StoreFactory(group=world.group, code=f"x{i}")
        OpeningPeriod.objects.create(store=store, weekday=1, opens=dt.time(9), closes=dt.time(17))
    api.get("/api/stores/")  # new stores bump the auth cache's version: warm it again before counting
    many, response = count_queries(lambda: api.get("/api/stores/"))
    assert response.json()["count"] == 12
    assert many == few
