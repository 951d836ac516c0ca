"""Roles are groups with exactly their declared permissions; API tokens are managed per store."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group

from aftersales.common.errors import Forbidden, NotFound, ValidationFailed
from aftersales.common.models import AuditEvent
from aftersales.common.tests.factories import make_staff
from aftersales.staff.models import ApiToken, User, hash_token
from aftersales.staff.roles import ROLE_PERMISSIONS, Role, sync_roles
from aftersales.staff.selectors import staff_with_role, token_get, tokens_visible_to
from aftersales.staff.services import token_authenticate, token_create, token_revoke

pytestmark = pytest.mark.django_db


def perms_of(group):
    return {f"{p.content_type.app_label}.{p.codename}" for p in group.permissions.select_related("content_type")}


@pytest.mark.parametrize("role", list(ROLE_PERMISSIONS))
def test_every_role_is_a_group_with_exactly_its_permissions(role):
    group = Group.objects.get(name=role)
    assert perms_of(group) == set(ROLE_PERMISSIONS[role])


def test_sync_roles_is_idempotent_and_repairs_drift():
    group = Group.objects.get(name=Role.TECHNICIAN)
    group.permissions.clear()
    sync_roles()
    sync_roles()
    assert perms_of(Group.objects.get(name=Role.TECHNICIAN)) == set(ROLE_PERMISSIONS[Role.TECHNICIAN])
    assert Group.objects.filter(name__in=list(ROLE_PERMISSIONS)).count() == len(ROLE_PERMISSIONS)


def test_group_admin_is_a_store_manager_who_spans_the_group():
    assert set(ROLE_PERMISSIONS[Role.GROUP_ADMIN]) == {*ROLE_PERMISSIONS[Role.STORE_MANAGER], "stores.view_all_stores"}


def test_who_sees_full_mobile_numbers(world):
    full = {r for r in ROLE_PERMISSIONS if world.staff[r].has_perm("customers.view_full_mobile")}
    assert full == {Role.SERVICE_ADVISOR, Role.CALL_CENTRE, Role.STORE_MANAGER, Role.GROUP_ADMIN}


def test_role_holders_have_their_permissions(world):
    assert world.technician.has_perm("vehicles.add_mileagereading")
    assert not world.technician.has_perm("customers.add_customer")
    assert world.staff[Role.CASHIER].has_perm("billing.add_payment")
    assert not world.advisor.has_perm("billing.add_payment")
    assert not world.advisor.has_perm("customers.export_customer")
    assert world.manager.has_perm("vehicles.correct_mileage")
    assert not world.manager.has_perm("stores.view_all_stores")
    assert world.admin.has_perm("stores.view_all_stores")


def test_staff_with_role_is_scoped(world):
    assert list(staff_with_role(world.manager, Role.SERVICE_ADVISOR)) == [world.advisor]
    assert list(staff_with_role(world.manager_b, Role.SERVICE_ADVISOR)) == [world.advisor_b]
    assert set(staff_with_role(world.admin, Role.SERVICE_ADVISOR)) == {world.advisor, world.advisor_b}


# ---- API tokens --------------------------------------------------------------------------------------------
def test_manager_creates_a_token_for_staff_at_their_store(world):
    token, key = token_create(actor=world.manager, user=world.advisor, name="  DMS   sync ")
    assert token.name == "DMS sync"
    assert key.startswith("as_") and token.prefix == key[:8]
    assert token.key_hash == hash_token(key) and key not in token.key_hash
    assert token.created_by_id == world.manager.pk
    assert AuditEvent.objects.filter(action="api_token.created", object_id=str(token.pk)).count() == 1
    assert token_authenticate(key) == world.advisor


def test_manager_cannot_create_a_token_for_staff_of_another_store(world):
    with pytest.raises(ValidationFailed) as exc:
        token_create(actor=world.manager, user=world.advisor_b, name="x")
    assert (exc.value.code, exc.value.field) == ("user_unknown", "user")
    assert not ApiToken.objects.exists()


def test_group_admin_manages_tokens_at_every_store(world):
    token, key = token_create(actor=world.admin, user=world.advisor_b, name="x")
    assert token_authenticate(key) == world.advisor_b
    token_revoke(actor=world.admin, token=token)
    assert token_authenticate(key) is None


@pytest.mark.parametrize("role", [Role.SERVICE_ADVISOR, Role.TECHNICIAN, Role.CASHIER])
def test_other_roles_cannot_create_tokens(world, role):
    with pytest.raises(Forbidden):
        token_create(actor=world.staff[role], user=world.staff[role], name="mine")
    assert not ApiToken.objects.exists()


def test_token_name_required(world):
    with pytest.raises(ValidationFailed) as exc:
        token_create(actor=world.manager, user=world.advisor, name="  ")
    assert exc.value.field == "name"


def test_manager_revokes_a_token_at_their_store_and_it_stops_working(world):
    token, key = token_create(actor=world.manager, user=world.advisor, name="x")
    assert token_authenticate(key) == world.advisor
    token_revoke(actor=world.manager, token=token)
    token.refresh_from_db()
    assert token.revoked_at is not None
    assert token_authenticate(key) is None
    token_revoke(actor=world.manager, token=token)  # revoking twice is harmless
    assert AuditEvent.objects.filter(action="api_token.revoked").count() == 1


def test_manager_cannot_revoke_a_token_of_another_stores_staff(world):
    token, key = token_create(actor=world.manager_b, user=world.advisor_b, name="x")
    with pytest.raises((Forbidden, NotFound)):
        token_revoke(actor=world.manager, token=token)
    with pytest.raises(NotFound):
        token_get(world.manager, token.pk)
    token.refresh_from_db()
    assert token.revoked_at is None
    assert token_authenticate(key) == world.advisor_b


def test_staff_may_revoke_their_own_token_but_not_a_colleagues(world):
    own, own_key = token_create(actor=world.manager, user=world.advisor, name="own")
    colleague, colleague_key = token_create(actor=world.manager, user=world.staff["cashier"], name="theirs")
    token_revoke(actor=world.advisor, token=own)
    assert token_authenticate(own_key) is None
    with pytest.raises(Forbidden):
        token_revoke(actor=world.advisor, token=colleague)
    assert token_authenticate(colleague_key) == world.staff["cashier"]
    assert set(tokens_visible_to(world.advisor)) == {own}
    assert set(tokens_visible_to(world.manager)) == {own, colleague}


def test_token_authenticate_refuses_unknown_empty_and_inactive(world):
    _token, key = token_create(actor=world.manager, user=world.advisor, name="x")
    assert token_authenticate("") is None
    assert token_authenticate(key + "x") is None
    assert token_authenticate("as_" + "A" * 43) is None
    User.objects.filter(pk=world.advisor.pk).update(is_active=False)
    assert token_authenticate(key) is None


def test_token_authenticate_records_last_use(world):
    token, key = token_create(actor=world.manager, user=world.advisor, name="x")
    assert token.last_used_at is None
    token_authenticate(key)
    token.refresh_from_db()
    assert token.last_used_at is not None


def test_a_manager_without_membership_sees_no_staff(world):
    loner = make_staff(Role.STORE_MANAGER)
    with pytest.raises(ValidationFailed):
        token_create(actor=loner, user=world.advisor, name="x")
