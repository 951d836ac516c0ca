"""The auth context (token → user → permissions → store ids) is read from the shared cache between requests, and any
change of access takes effect on the very next request (issue 19; aftersales/common/authcache.py)."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group, Permission
from django.db import connection
from django.test.utils import CaptureQueriesContext

from aftersales.common.tests.api_helpers import Api, token_issuer, token_key_for
from aftersales.common.tests.factories import CustomerFactory
from aftersales.customers.models import CustomerStore
from aftersales.staff.models import ApiToken, StoreMembership
from aftersales.staff.roles import Role
from aftersales.staff.services import token_revoke

pytestmark = pytest.mark.django_db


def _client(world, user, name="cache"):
    return Api.bearer(token_key_for(user, actor=token_issuer(world.a), name=name))


def _customer_at(store):
    customer = CustomerFactory(group=store.group, home_store=store)
    CustomerStore.objects.get_or_create(customer=customer, store=store)
    return customer


def _auth_queries(captured):
    tables = ("staff_apitoken", "auth_permission", "staff_storemembership", "staff_user")
    return [q["sql"] for q in captured if any(f'FROM "{t}"' in q["sql"] for t in tables)]


def test_second_request_reads_no_auth_rows(world):
    api = _client(world, world.advisor)
    customer = _customer_at(world.a)
    assert api.get(f"/api/customers/{customer.pk}").status_code == 200  # fills the cache
    with CaptureQueriesContext(connection) as ctx:
        assert api.get(f"/api/customers/{customer.pk}").status_code == 200
    assert _auth_queries(ctx.captured_queries) == []


def test_revoked_token_is_refused_on_the_very_next_request(world):
    key = token_key_for(world.advisor, actor=token_issuer(world.a), name="soon-revoked")
    api = Api.bearer(key)
    customer = _customer_at(world.a)
    assert api.get(f"/api/customers/{customer.pk}").status_code == 200
    token = ApiToken.objects.get(user=world.advisor, name="soon-revoked")
    token_revoke(actor=world.manager, token=token)
    assert api.get(f"/api/customers/{customer.pk}").status_code == 401


def test_revoke_over_the_api_takes_effect_at_once(world):
    api = _client(world, world.advisor, name="self-revoke")
    token = ApiToken.objects.get(user=world.advisor, name="self-revoke")
    assert api.get("/api/staff/tokens").status_code == 200
    assert api.delete(f"/api/staff/tokens/{token.pk}").status_code == 200
    assert api.get("/api/staff/tokens").status_code == 401


def test_removed_membership_takes_effect_on_the_next_request(world):
    api = _client(world, world.advisor)
    customer = _customer_at(world.a)
    assert api.get(f"/api/customers/{customer.pk}").status_code == 200
    StoreMembership.objects.filter(user=world.advisor, store=world.a).delete()  # e.g. in the admin site
    assert api.get(f"/api/customers/{customer.pk}").status_code == 404


def test_added_membership_takes_effect_on_the_next_request(world):
    api = _client(world, world.advisor)
    customer = _customer_at(world.b)
    assert api.get(f"/api/customers/{customer.pk}").status_code == 404
    StoreMembership.objects.create(user=world.advisor, store=world.b)
    assert api.get(f"/api/customers/{customer.pk}").status_code == 200


def test_changed_role_takes_effect_on_the_next_request(world):
    api = _client(world, world.advisor)
    customer = _customer_at(world.a)
    assert api.get(f"/api/customers/{customer.pk}").status_code == 200
    world.advisor.groups.clear()  # no role any more
    assert api.get(f"/api/customers/{customer.pk}").status_code == 403
    world.advisor.groups.add(Group.objects.get(name=Role.SERVICE_ADVISOR))
    assert api.get(f"/api/customers/{customer.pk}").status_code == 200


def test_a_role_losing_a_permission_takes_effect_on_the_next_request(world):
    api = _client(world, world.advisor)
    customer = _customer_at(world.a)
    assert api.get(f"/api/customers/{customer.pk}").status_code == 200
    perm = Permission.objects.get(content_type__app_label="customers", codename="view_customer")
    Group.objects.get(name=Role.SERVICE_ADVISOR).permissions.remove(perm)
    assert api.get(f"/api/customers/{customer.pk}").status_code == 403


def test_deactivated_user_is_refused_on_the_next_request(world):
    api = _client(world, world.advisor)
    assert api.get("/api/staff/tokens").status_code == 200
    world.advisor.is_active = False
    world.advisor.save(update_fields=["is_active"])
    assert api.get("/api/staff/tokens").status_code == 401


def test_new_store_is_seen_by_the_group_admin_at_once(world):
    from aftersales.common.tests.factories import StoreFactory

    def ids(body):
        return {s["id"] for s in (body["items"] if isinstance(body, dict) else body)}

    api = _client(world, world.admin)
    before = ids(api.get("/api/stores/").json())
    store = StoreFactory(group=world.group, code="c", name="Store C")
    assert store.pk not in before and store.pk in ids(api.get("/api/stores/").json())
