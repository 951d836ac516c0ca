"""API tests for /api/staff/: staff lists and detail, API tokens (create once, list without key, revoke)."""

from __future__ import annotations

import pytest

from aftersales.common.models import AuditEvent
from aftersales.common.tests.api_helpers import (
    ENDPOINTS,
    Api,
    assert_error,
    count_queries,
    fill,
    ids,
    token_issuer,
    token_key_for,
)
from aftersales.common.tests.factories import make_staff
from aftersales.staff.models import ApiToken, hash_token

pytestmark = pytest.mark.django_db


def staff_at_a(world):
    return {u.pk for u in world.staff.values()}


@pytest.mark.parametrize(("method", "path"), ENDPOINTS["staff"], ids=lambda v: str(v))
def test_unauthenticated_is_401(world, method, path):
    assert_error(Api.anonymous().request(method, fill(path, world.advisor.pk), {}), 401, "unauthenticated")


# ---- staff list / detail -------------------------------------------------------------------------------
def test_list_shows_only_staff_of_own_store(world):
    body_ids = ids(Api.session(world.advisor).get("/api/staff/"))
    assert body_ids == staff_at_a(world)
    assert world.advisor_b.pk not in body_ids
    assert ids(Api.session(world.advisor_b).get("/api/staff/")) == {world.advisor_b.pk, world.manager_b.pk}


def test_group_admin_sees_staff_of_both_stores(world):
    assert ids(Api.session(world.admin).get("/api/staff/")) == staff_at_a(world) | {
        world.advisor_b.pk,
        world.manager_b.pk,
    }


def test_list_filters_by_role_and_store(world):
    api = Api.session(world.admin)
    assert ids(api.get("/api/staff/", {"role": "service_advisor"})) == {world.advisor.pk, world.advisor_b.pk}
    assert ids(api.get("/api/staff/", {"store_id": world.b.pk})) == {world.advisor_b.pk, world.manager_b.pk}
    # Filtering by a store the user cannot see yields nothing, never the other store's staff.
    assert ids(Api.session(world.advisor).get("/api/staff/", {"store_id": world.b.pk})) == set()


def test_detail_has_roles_and_stores(world):
    response = Api.session(world.technician).get(f"/api/staff/{world.advisor.pk}")
    assert response.status_code == 200
    body = response.json()
    assert body["roles"] == ["service_advisor"]
    assert body["store_ids"] == [world.a.pk]
    assert "password" not in body


def test_staff_of_another_store_is_404(world):
    assert_error(Api.session(world.advisor_b).get(f"/api/staff/{world.advisor.pk}"), 404, "not_found")
    assert_error(Api.session(world.manager).get(f"/api/staff/{world.manager_b.pk}"), 404, "not_found")
    assert Api.session(world.admin).get(f"/api/staff/{world.manager_b.pk}").status_code == 200


def test_list_query_count_does_not_grow_with_staff(world):
    api = Api.session(world.admin)
    api.get("/api/staff/")
    few, response = count_queries(lambda: api.get("/api/staff/"))
    before = response.json()["count"]
    for _ in range(10):
        make_staff("technician", world.a, world.b)
    api.get("/api/staff/")  # new staff bumped the cached auth contexts (common/authcache.py): warm them again
    many, response = count_queries(lambda: api.get("/api/staff/"))
    assert response.json()["count"] == before + 10
    assert many == few


# ---- tokens --------------------------------------------------------------------------------------------
def test_manager_creates_token_for_advisor_key_shown_once_and_it_authenticates(world):
    manager = Api.session(world.manager)
    response = manager.post("/api/staff/tokens", {"name": "DMS sync", "user_id": world.advisor.pk})
    assert response.status_code == 201, response.content
    created = response.json()
    key = created["key"]
    assert key.startswith("as_")
    assert created["prefix"] == key[:8]
    assert created["user_id"] == world.advisor.pk
    token = ApiToken.objects.get(pk=created["id"])
    assert token.key_hash == hash_token(key) and key not in token.key_hash  # only the hash is stored
    assert AuditEvent.objects.filter(action="api_token.created").count() == 1

    listed = manager.get("/api/staff/tokens")
    assert listed.status_code == 200
    rows = listed.json()
    assert [r["id"] for r in rows] == [token.pk]
    assert "key" not in rows[0]
    assert key not in listed.content.decode()

    # The token authenticates as the advisor (their store only), and marks itself used.
    as_advisor = Api.bearer(key)
    assert ids(as_advisor.get("/api/stores/")) == {world.a.pk}
    token.refresh_from_db()
    assert token.last_used_at is not None


def test_advisor_lists_only_own_tokens_and_cannot_create(world):
    own = token_key_for(world.advisor, actor=world.manager, name="mine")
    token_key_for(world.technician, actor=token_issuer(world.a), name="theirs")
    api = Api.bearer(own)
    rows = api.get("/api/staff/tokens").json()
    assert [r["name"] for r in rows] == ["mine"]
    before = ApiToken.objects.count()
    assert_error(api.post("/api/staff/tokens", {"name": "x"}), 403, "permission_denied")
    assert_error(
        Api.session(world.advisor).post("/api/staff/tokens", {"name": "x", "user_id": world.technician.pk}),
        403,
        "permission_denied",
    )
    assert ApiToken.objects.count() == before


def test_revoke_makes_the_token_401(world):
    key = token_key_for(world.advisor, actor=world.manager)
    token = ApiToken.objects.get(key_hash=hash_token(key))
    assert Api.bearer(key).get("/api/customers/").status_code == 200
    response = Api.session(world.manager).delete(f"/api/staff/tokens/{token.pk}")
    assert response.status_code == 200
    assert response.json()["revoked_at"] is not None
    assert_error(Api.bearer(key).get("/api/customers/"), 401, "unauthenticated")
    assert_error(
        Api.bearer(key).post("/api/customers/", {"name": "x", "mobile": "13812345678"}),
        401,
        "unauthenticated",
    )


def test_staff_member_revokes_own_token(world):
    key = token_key_for(world.technician, actor=token_issuer(world.a))
    token = ApiToken.objects.get(key_hash=hash_token(key))
    response = Api.bearer(key).delete(f"/api/staff/tokens/{token.pk}")
    assert response.status_code == 200
    assert_error(Api.bearer(key).get("/api/stores/"), 401, "unauthenticated")


def test_advisor_cannot_revoke_someone_elses_token(world):
    other = token_key_for(world.technician, actor=token_issuer(world.a))
    token = ApiToken.objects.get(key_hash=hash_token(other))
    response = Api.session(world.advisor).delete(f"/api/staff/tokens/{token.pk}")
    assert response.status_code in (403, 404)
    token.refresh_from_db()
    assert token.revoked_at is None


def test_manager_of_store_b_cannot_create_token_for_store_a_user(world):
    before = ApiToken.objects.count()
    response = Api.session(world.manager_b).post(
        "/api/staff/tokens", {"name": "steal", "user_id": world.advisor.pk}
    )
    assert 400 <= response.status_code < 500
    assert response.status_code == 404
    assert ApiToken.objects.count() == before


def test_manager_of_store_b_neither_sees_nor_revokes_store_a_tokens(world):
    key = token_key_for(world.advisor, actor=world.manager)
    token = ApiToken.objects.get(key_hash=hash_token(key))
    api = Api.session(world.manager_b)
    assert api.get("/api/staff/tokens").json() == []
    assert_error(api.delete(f"/api/staff/tokens/{token.pk}"), 404, "not_found")
    token.refresh_from_db()
    assert token.revoked_at is None
    # The group admin spans the group and sees it.
    assert [r["id"] for r in Api.session(world.admin).get("/api/staff/tokens").json()] == [token.pk]


def test_token_create_bad_input_names_the_field(world):
    api = Api.session(world.manager)
    before = ApiToken.objects.count()
    assert_error(api.post("/api/staff/tokens", {"name": "   "}), 422, "name_required", "name")
    assert_error(api.post("/api/staff/tokens", {"user_id": world.advisor.pk}), 422, "invalid", "name")
    assert_error(api.post("/api/staff/tokens", {"name": "x", "user_id": "abc"}), 422, "invalid", "user_id")
    assert ApiToken.objects.count() == before


def test_token_for_self_when_no_user_given(world):
    response = Api.session(world.manager).post("/api/staff/tokens", {"name": "own"})
    assert response.status_code == 201
    assert response.json()["user_id"] == world.manager.pk


# ---- CSRF on session writes ----------------------------------------------------------------------------
def _csrf_client(user):
    """A signed-in browser: enforces CSRF and holds the CSRF cookie (as a page with a form would set it)."""
    from django.middleware.csrf import _get_new_csrf_string

    api = Api.session(user, enforce_csrf_checks=True)
    token = _get_new_csrf_string()
    api.client.cookies["csrftoken"] = token
    return api, token


def test_session_post_without_csrf_token_is_refused_and_with_it_works(world):
    api, csrf = _csrf_client(world.manager)
    before = ApiToken.objects.count()
    refused = api.post("/api/staff/tokens", {"name": "no csrf"})
    assert refused.status_code == 403
    assert refused.json()["message"] == "CSRF check Failed"
    wrong = api.post("/api/staff/tokens", {"name": "bad csrf"}, headers={"X-CSRFToken": "x" * 32})
    assert wrong.status_code == 403
    assert ApiToken.objects.count() == before
    accepted = api.post("/api/staff/tokens", {"name": "with csrf"}, headers={"X-CSRFToken": csrf})
    assert accepted.status_code == 201, accepted.content
    assert ApiToken.objects.count() == before + 1
    # Reads need no token.
    assert api.get("/api/staff/tokens").status_code == 200


def test_bearer_writes_need_no_csrf_token(world):
    key = token_key_for(world.manager, actor=world.admin)
    api = Api(Api.anonymous(enforce_csrf_checks=True).client, {"Authorization": f"Bearer {key}"})
    assert api.post("/api/staff/tokens", {"name": "integration"}).status_code == 201


def test_unauthenticated_write_from_a_non_browser_client_is_401_not_a_csrf_error(world):
    """An integration without a session (bad or revoked token) is told to authenticate, not about CSRF."""
    api = Api(Api.anonymous(enforce_csrf_checks=True).client, {"Authorization": "Bearer as_revoked-or-wrong"})
    assert_error(api.post("/api/staff/tokens", {"name": "x"}), 401, "unauthenticated")
    assert_error(Api.anonymous(enforce_csrf_checks=True).post("/api/customers/", {}), 401, "unauthenticated")
