"""Nobody acts for a colleague who can do more than they can (issue 13, item 1).

A token acts as its owner, and the admin site changes a colleague's roles, stores and password: both are "acting for
another user". The rule (``staff_actable_by``): only oneself, or a colleague holding no permission, store, dealer
group or admin access beyond the actor's; a superuser's tokens are the superuser's alone.
"""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Permission
from django.test import Client

from aftersales.common.tests.api_helpers import Api, assert_error, token_key_for
from aftersales.common.tests.factories import make_staff
from aftersales.staff.models import ApiToken, User
from aftersales.staff.selectors import staff_actable_by
from aftersales.staff.services import token_create

pytestmark = pytest.mark.django_db


@pytest.fixture
def root(world):
    return make_staff("group_admin", world.a, is_superuser=True, is_staff=True)


def _post_token(actor, owner):
    return Api.session(actor).post("/api/staff/tokens", {"name": "x", "user_id": owner.pk})


def test_manager_cannot_mint_a_token_for_the_superuser(world, root):
    assert_error(_post_token(world.manager, root), 403, "owner_not_allowed", "user")
    assert not ApiToken.objects.filter(user=root).exists()


def test_manager_cannot_mint_a_token_for_the_group_admin(world):
    # The group admin works at store A too, but sees every store: more than the manager.
    assert_error(_post_token(world.manager, world.admin), 403, "owner_not_allowed", "user")


def test_manager_cannot_mint_for_a_colleague_with_an_extra_permission_or_store(world):
    extra_perm = make_staff("service_advisor", world.a)
    extra_perm.user_permissions.add(Permission.objects.get(codename="view_all_stores"))
    assert_error(_post_token(world.manager, extra_perm), 403, "owner_not_allowed", "user")
    two_stores = make_staff("service_advisor", world.a, world.b)
    assert_error(_post_token(world.manager, two_stores), 403, "owner_not_allowed", "user")
    admin_site = make_staff("service_advisor", world.a, is_staff=True)
    assert_error(_post_token(world.manager, admin_site), 403, "owner_not_allowed", "user")
    assert ApiToken.objects.count() == 0


def test_manager_still_mints_for_the_staff_below_them(world):
    for role in ("service_advisor", "cashier", "parts_clerk", "call_centre_agent"):
        response = _post_token(world.manager, world.staff[role])
        assert response.status_code == 201, (role, response.content)
    assert _post_token(world.manager, world.manager).status_code == 201


def test_quality_check_signers_tokens_come_only_from_a_superuser(world, root):
    # Technicians, foremen and QC inspectors sign quality checks in their own name, which no manager may do.
    for role in ("technician", "foreman", "qc_inspector"):
        assert_error(_post_token(world.manager, world.staff[role]), 403, "owner_not_allowed", "user")
        assert_error(_post_token(world.admin, world.staff[role]), 403, "owner_not_allowed", "user")
        assert _post_token(root, world.staff[role]).status_code == 201


def test_a_superusers_tokens_are_only_their_own(world, root):
    other_root = make_staff("group_admin", world.a, is_superuser=True, is_staff=True)
    assert_error(_post_token(other_root, root), 403, "owner_not_allowed", "user")
    assert _post_token(root, root).status_code == 201
    # A superuser may still issue tokens for ordinary staff.
    assert _post_token(root, world.advisor).status_code == 201


def test_stolen_manager_token_cannot_escalate(world, root):
    key = token_key_for(world.manager, actor=world.manager)
    assert_error(Api.bearer(key).post("/api/staff/tokens", {"name": "x", "user_id": root.pk}), 403, "owner_not_allowed")


def test_tokens_of_a_stronger_colleague_are_invisible_and_unrevocable(world, root):
    token, _key = token_create(actor=root, user=root, name="root's")
    admin_token, _key = token_create(actor=world.admin, user=world.admin, name="admin's")
    api = Api.session(world.manager)
    listed = {t["id"] for t in api.get("/api/staff/tokens").json()}
    assert token.pk not in listed and admin_token.pk not in listed
    assert_error(api.delete(f"/api/staff/tokens/{token.pk}"), 404, "not_found")
    assert_error(api.delete(f"/api/staff/tokens/{admin_token.pk}"), 404, "not_found")
    token.refresh_from_db()
    admin_token.refresh_from_db()
    assert token.revoked_at is None and admin_token.revoked_at is None


def test_tokens_page_offers_only_allowed_owners(world, root):
    client = Client()
    client.force_login(world.manager)
    page = client.get("/tokens/").content.decode()
    assert f'value="{world.advisor.pk}"' in page
    assert f'value="{root.pk}"' not in page and f'value="{world.admin.pk}"' not in page
    response = client.post("/tokens/", {"name": "sneaky", "user": str(root.pk)})
    assert response.status_code == 200 and not ApiToken.objects.filter(user=root).exists()


def test_actable_set_is_exactly_the_dominated_colleagues(world, root):
    actable = set(staff_actable_by(world.manager).values_list("pk", flat=True))
    assert world.manager.pk in actable and world.advisor.pk in actable
    assert root.pk not in actable and world.admin.pk not in actable
    assert world.manager_b.pk not in actable  # another store
    assert set(staff_actable_by(root).values_list("pk", flat=True)) >= {root.pk, world.admin.pk, world.manager_b.pk}


# ---- the admin site: staff edits, role changes, store membership -----------------------------------------
@pytest.fixture
def staff_editor(world):
    """A store manager allowed into the admin site with the right to change staff."""
    editor = make_staff("store_manager", world.a, is_staff=True)
    editor.user_permissions.add(*Permission.objects.filter(codename__in=["view_user", "change_user"],
                                                             content_type__app_label="staff"))
    return User.objects.get(pk=editor.pk)


def test_admin_editor_cannot_open_a_stronger_colleague(world, root, staff_editor):
    client = Client()
    client.force_login(staff_editor)
    for target in (root, world.admin, world.manager_b):
        response = client.get(f"/admin/staff/user/{target.pk}/change/")
        assert response.status_code == 302, target  # "doesn't exist", back to the admin index
        response = client.get(f"/admin/staff/user/{target.pk}/password/")
        assert response.status_code == 404, target
    assert client.get(f"/admin/staff/user/{world.advisor.pk}/change/").status_code == 200


def test_admin_editor_cannot_grant_a_role_store_or_superuser_they_lack(world, staff_editor):
    from django.contrib.auth.models import Group

    client = Client()
    client.force_login(staff_editor)
    page = client.get(f"/admin/staff/user/{world.advisor.pk}/change/").content.decode()
    group_admin = Group.objects.get(name="group_admin")
    assert f'value="{group_admin.pk}"' not in page
    assert 'name="is_superuser"' not in page
    advisor = world.advisor
    data = {
        "username": advisor.username, "is_active": "on", "is_superuser": "on", "groups": [str(group_admin.pk)],
        "date_joined_0": "2026-01-01", "date_joined_1": "00:00:00", "language": "en", "skills": "[]",
        "memberships-TOTAL_FORMS": "1", "memberships-INITIAL_FORMS": "0", "memberships-MIN_NUM_FORMS": "0",
        "memberships-MAX_NUM_FORMS": "1000", "memberships-0-store": str(world.b.pk), "memberships-0-user": str(advisor.pk),
    }
    response = client.post(f"/admin/staff/user/{advisor.pk}/change/", data)
    assert response.status_code == 200  # the form comes back with errors
    advisor = User.objects.get(pk=advisor.pk)
    assert not advisor.is_superuser
    assert not advisor.groups.filter(name="group_admin").exists()
    assert not advisor.memberships.filter(store=world.b).exists()


def test_admin_site_cannot_add_tokens_and_lists_only_visible_ones(world, root, staff_editor):
    staff_editor.user_permissions.add(*Permission.objects.filter(content_type__app_label="staff", codename__endswith="apitoken"))
    token_create(actor=root, user=root, name="root's")
    token_create(actor=world.manager, user=world.advisor, name="advisor's")
    client = Client()
    client.force_login(User.objects.get(pk=staff_editor.pk))
    assert client.get("/admin/staff/apitoken/add/").status_code == 403
    page = client.get("/admin/staff/apitoken/").content.decode()
    assert "advisor&#x27;s" in page or "advisor's" in page
    assert "root&#x27;s" not in page and "root's" not in page
