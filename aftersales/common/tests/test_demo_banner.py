"""A demo install says so on every page (issue 13, item 2): the demo's passwords are published."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django.test import Client

from aftersales.demo.loader import GROUP_NAME
from aftersales.stores.models import DealerGroup

pytestmark = pytest.mark.django_db


@pytest.fixture
def data_dir(settings, tmp_path):
    settings.DATA_DIR = tmp_path
    return tmp_path


def _pages(world):
    client = Client()
    client.force_login(world.advisor)
    return [Client().get("/login/"), client.get("/"), client.get("/customers/")]


def test_no_banner_on_a_real_install(world, data_dir):
    for response in _pages(world):
        assert 'data-testid="demo-banner"' not in response.content.decode()


def test_loading_the_demo_puts_the_banner_on_every_page(world, data_dir):
    DealerGroup.objects.create(name=GROUP_NAME)  # the demo is there (loading it in full takes a while)
    call_command("load_demo", stdout=open("/dev/null", "w"))  # noqa: SIM115
    assert (data_dir / "demo-install").exists()
    for response in _pages(world):
        body = response.content.decode()
        assert 'data-testid="demo-banner"' in body
        assert "Demo install" in body or "演示环境" in body
