"""Fixtures shared by the online-payment tests (test_providers, test_provider_refunds): the local fakes of WeChat
Pay v3 and Alipay, store A's merchant accounts with them, and an issued invoice to pay."""

from __future__ import annotations

import pytest

from .helpers import ready_order
from .provider_fakes import FakeAlipay, FakeWeChatPayV3


@pytest.fixture
def wechat(settings):
    fake = FakeWeChatPayV3().start()
    settings.WECHATPAY_GATEWAY = fake.base
    yield fake
    fake.stop()


@pytest.fixture
def alipay(settings):
    fake = FakeAlipay().start()
    settings.ALIPAY_GATEWAY = fake.gateway
    yield fake
    fake.stop()


@pytest.fixture
def accounts(world, wechat, alipay):
    """Store A takes WeChat Pay and Alipay (its own merchant accounts, pointing at the fakes)."""
    from aftersales.billing.services import merchant_account_save

    wx = merchant_account_save(actor=world.manager, store=world.a, provider="wechat", data=wechat.merchant_fields())
    ali = merchant_account_save(actor=world.manager, store=world.a, provider="alipay", data=alipay.merchant_fields())
    return wx, ali


@pytest.fixture
def invoice(world):
    from aftersales.billing.services import invoice_issue

    return invoice_issue(actor=world.manager, order=ready_order(world))
