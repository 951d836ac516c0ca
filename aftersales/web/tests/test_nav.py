"""The staff navigation grouped by area (issue 16 review): every role sees only the entries it may open, in a few
menus that fit one row at desk width; each entry opens (no 403 behind a link), the current page is marked."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from aftersales.web.nav import GROUPS

pytestmark = pytest.mark.django_db

NAV = re.compile(r'<nav class="menus".*?</nav>', re.S)
MENU = re.compile(r'<details class="menu[^"]*" data-menu="([a-z]+)">\s*<summary[^>]*>([^<]+)</summary>(.*?)</details>', re.S)
LINK = re.compile(r'<a href="([^"]+)"')


def _nav(client: Client, url: str = "/") -> str:
    response = client.get(url, follow=True)
    assert response.status_code == 200
    found = NAV.search(response.content.decode())
    assert found, "no navigation"
    return found.group(0)


def test_every_role_sees_only_what_it_may_open(world):
    for role, user in world.staff.items():
        client = Client()
        client.force_login(user)
        nav = _nav(client)
        assert "style=" not in nav
        menus = MENU.findall(nav)
        assert 1 <= len(menus) <= len(GROUPS), role
        links = [link for _key, _label, body in menus for link in LINK.findall(body)]
        assert len(links) == len(LINK.findall(nav)), "a link outside the menus"
        for link in links:
            if link.startswith(("/api/", "/admin/")):
                continue
            response = client.get(link, follow=True)
            assert response.status_code == 200, (role, link, response.status_code)
        if role == "technician":
            keys = {key for key, _label, _body in menus}
            assert "manage" in keys and "contact" not in keys  # their own API tokens; no customer contact desk


def test_a_role_without_a_permission_does_not_see_its_entry(world):
    client = Client()
    client.force_login(world.technician)
    nav = _nav(client)
    assert 'data-testid="nav-cashier"' not in nav and 'data-testid="nav-cockpit"' not in nav
    client.force_login(world.manager)
    nav = _nav(client)
    assert 'data-testid="nav-cockpit"' in nav


def test_the_current_page_is_marked_and_menus_read_in_the_users_language(world):
    user = world.manager
    user.language = "en"
    user.save(update_fields=["language"])
    client = Client()
    client.force_login(user)
    nav = _nav(client, "/customers/")
    assert 'aria-current="page">Customer list<' in nav
    assert re.search(r'<details class="menu current" data-menu="customers">', nav)
    assert "Customer contact" in nav and "客户" not in nav
    user.language = "zh-hans"
    user.save(update_fields=["language"])
    client.force_login(user)
    nav = _nav(client, "/customers/")
    assert ">客户联络<" in nav and ">收银台<" in nav and "Customer contact" not in nav
