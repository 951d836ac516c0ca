"""Secrets encrypted at rest (issue 13, item 9): the SMS, WeChat and webhook secrets of the channel settings and the
payment merchants' private and APIv3 keys reach the database only as Fernet ciphertext; the app reads them back in
clear; the screens show them masked; a rotation puts every secret under a new key and drops the old one; the data
migration encrypts what was stored before; another install's keys open nothing."""

from __future__ import annotations

import importlib
import io

import pytest
from cryptography.fernet import Fernet, InvalidToken
from django.db import connection
from django.test import Client

from aftersales.billing.models import MerchantAccount
from aftersales.billing.services import merchant_account_save
from aftersales.billing.tests.provider_fakes import FakeWeChatPayV3
from aftersales.common import crypto
from aftersales.common.events import IN_PROCESS
from aftersales.messaging.models import ChannelSettings
from aftersales.messaging.services import channel_settings_update

SMS_SECRET = "sms-secret-Zq8v1XkLmN0pQrStUv"
WECHAT_SECRET = "wechat-app-secret-4f2b9c7e1d"
WEBHOOK_SECRET = "whsec-5e8a3c1b7d9f2e4a6c"


@pytest.fixture(autouse=True)
def own_keys(settings, tmp_path, monkeypatch):
    """Each test with a key file of its own (the data directory's ``encryption_keys``)."""
    monkeypatch.delenv(crypto.ENV, raising=False)
    settings.DATA_DIR = tmp_path
    return tmp_path / crypto.FILE_NAME


def _raw(model, pk, *columns):
    table = connection.ops.quote_name(model._meta.db_table)
    cols = ", ".join(connection.ops.quote_name(c) for c in columns)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {cols} FROM {table} WHERE id = %s", [pk])  # noqa: S608
        return cursor.fetchone()


def _channels(world):
    return channel_settings_update(actor=world.manager, store=world.a, data={
        "sms_provider": "aliyun", "sms_access_key_id": "LTAI-key-id", "sms_access_key_secret": SMS_SECRET,
        "sms_sign_name": "测试门店", "wechat_app_id": "wx-app", "wechat_app_secret": WECHAT_SECRET,
        "webhook_url": "https://hooks.example.cn/in", "webhook_secret": WEBHOOK_SECRET,
    })


def test_channel_secrets_are_ciphertext_in_the_database_and_clear_in_the_app(world, own_keys):
    row = _channels(world)
    raw = _raw(ChannelSettings, row.pk, "sms_access_key_secret", "wechat_app_secret", "webhook_secret")
    for stored, plain in zip(raw, (SMS_SECRET, WECHAT_SECRET, WEBHOOK_SECRET), strict=True):
        assert stored.startswith("fernet:") and plain not in stored
        assert Fernet(own_keys.read_text().split("\n")[1]).decrypt(stored[7:].encode()).decode() == plain
    assert _raw(ChannelSettings, row.pk, "sms_access_key_id") == ("LTAI-key-id",)  # not a secret: in clear
    fresh = ChannelSettings.objects.get(pk=row.pk)
    assert (fresh.sms_access_key_secret, fresh.wechat_app_secret, fresh.webhook_secret) == (
        SMS_SECRET, WECHAT_SECRET, WEBHOOK_SECRET)
    assert oct(own_keys.stat().st_mode & 0o777) == "0o600"
    # the screen says a secret is set and shows its last characters, never the secret
    client = Client()
    client.force_login(world.manager)
    page = client.get(f"/channel-settings/?store={world.a.pk}").content.decode()
    for plain in (SMS_SECRET, WECHAT_SECRET, WEBHOOK_SECRET):
        assert plain not in page and f"••••{plain[-4:]}" in page
    # an empty secret stays empty (no key needed to tell "not set")
    cleared = channel_settings_update(actor=world.manager, store=world.a, data={"webhook_url": ""},
                                      clear_secrets=("webhook_secret",))
    assert _raw(ChannelSettings, cleared.pk, "webhook_secret") == ("",)


def test_merchant_keys_are_ciphertext_in_the_database(world, own_keys):
    fake = FakeWeChatPayV3()
    fields = fake.merchant_fields()
    account = merchant_account_save(actor=world.manager, store=world.a, provider="wechat", data=fields)
    private, api_v3, public = _raw(MerchantAccount, account.pk, "private_key", "api_v3_key", "platform_public_key")
    assert private.startswith("fernet:") and "PRIVATE KEY" not in private
    assert api_v3.startswith("fernet:") and fake.api_v3_key not in api_v3
    assert "PUBLIC KEY" in public  # the platform's public key is not a secret
    fresh = MerchantAccount.objects.get(pk=account.pk)
    assert fresh.private_key == fields["private_key"].strip() and fresh.api_v3_key == fake.api_v3_key
    client = Client()
    client.force_login(world.manager)
    page = client.get(f"/billing/merchants/?store={world.a.pk}").content.decode()
    assert fake.api_v3_key not in page and "PRIVATE KEY-----\n" not in page and f"••••{fake.api_v3_key[-4:]}" in page


def test_rotation_reencrypts_every_secret_and_drops_the_old_key(world, own_keys):
    from django.core.management import call_command

    row = _channels(world)
    account = merchant_account_save(actor=world.manager, store=world.a, provider="wechat",
                                    data=FakeWeChatPayV3().merchant_fields())
    old_key = crypto.current_keys()[0]
    before = _raw(ChannelSettings, row.pk, "sms_access_key_secret")[0]
    call_command("rotate_encryption_key", stdout=(out := io.StringIO()))
    assert out.getvalue().startswith("2 rows re-encrypted")  # one channel settings row, one merchant account
    keys = crypto.current_keys()
    assert len(keys) == 1 and keys[0] != old_key and old_key not in own_keys.read_text()
    after = _raw(ChannelSettings, row.pk, "sms_access_key_secret")[0]
    assert after != before and after.startswith("fernet:")
    assert Fernet(keys[0]).decrypt(after[7:].encode()).decode() == SMS_SECRET
    with pytest.raises(InvalidToken):
        Fernet(old_key).decrypt(after[7:].encode())
    assert ChannelSettings.objects.get(pk=row.pk).webhook_secret == WEBHOOK_SECRET
    assert MerchantAccount.objects.get(pk=account.pk).private_key.startswith("-----BEGIN")
    # --keep-old leaves both keys (the old still decrypts, the new encrypts)
    crypto.rotate(keep_old=True)
    assert len(crypto.current_keys()) == 2 and crypto.current_keys()[1] == keys[0]


def test_keys_from_the_environment_and_another_installs_keys_open_nothing(world, monkeypatch, own_keys):
    env_key = Fernet.generate_key().decode()
    monkeypatch.setenv(crypto.ENV, env_key)
    row = _channels(world)
    stored = _raw(ChannelSettings, row.pk, "webhook_secret")[0]
    assert Fernet(env_key).decrypt(stored[7:].encode()).decode() == WEBHOOK_SECRET
    assert not own_keys.exists()  # no key file when the keys come from the environment
    with pytest.raises(Exception, match="AFTERSALES_ENCRYPTION_KEYS"):
        crypto.rotate()
    monkeypatch.setenv(crypto.ENV, Fernet.generate_key().decode())  # a copy of the database on another install
    with pytest.raises(crypto.SecretUnreadable, match="cannot be decrypted"):
        ChannelSettings.objects.get(pk=row.pk)


def test_the_migration_encrypts_secrets_stored_in_clear_and_a_downgrade_writes_them_back(world):
    row = _channels(world)
    table = connection.ops.quote_name(ChannelSettings._meta.db_table)
    with connection.cursor() as cursor:  # as a row looked before the migration
        cursor.execute(f"UPDATE {table} SET sms_access_key_secret = %s, webhook_secret = %s WHERE id = %s",  # noqa: S608
                       [SMS_SECRET, WEBHOOK_SECRET, row.pk])
    assert ChannelSettings.objects.get(pk=row.pk).sms_access_key_secret == SMS_SECRET  # read as it was
    migration = importlib.import_module("aftersales.messaging.migrations.0002_channel_secrets_encrypted")
    from django.apps import apps

    class Editor:
        pass

    editor = Editor()
    editor.connection = connection  # type: ignore[attr-defined]
    migration.encrypt(apps, editor)
    raw = _raw(ChannelSettings, row.pk, "sms_access_key_secret", "wechat_app_secret", "webhook_secret")
    assert all(v.startswith("fernet:") for v in raw) and SMS_SECRET not in "".join(raw)
    assert ChannelSettings.objects.get(pk=row.pk).webhook_secret == WEBHOOK_SECRET
    migration.decrypt(apps, editor)
    assert _raw(ChannelSettings, row.pk, "sms_access_key_secret", "wechat_app_secret", "webhook_secret") == (
        SMS_SECRET, WECHAT_SECRET, WEBHOOK_SECRET)


def test_every_credential_column_is_encrypted():
    """The secrets the app must use again are encrypted; the rest of its credentials are stored as hashes only
    (API tokens, rating terminals) or derived (telematics device keys), so no column holds a usable credential."""
    encrypted = {(m._meta.label, n) for m, names in crypto.encrypted_fields() for n in names}
    assert encrypted == {
        ("messaging.ChannelSettings", "sms_access_key_secret"), ("messaging.ChannelSettings", "wechat_app_secret"),
        ("messaging.ChannelSettings", "webhook_secret"), ("billing.MerchantAccount", "private_key"),
        ("billing.MerchantAccount", "api_v3_key"),
    }
    from django.apps import apps

    suspicious = {
        (m._meta.label, f.name) for m in apps.get_models() for f in m._meta.concrete_fields
        if any(w in f.name for w in ("secret", "password", "private_key", "api_key", "v3_key"))
        and not isinstance(f, crypto.EncryptedTextField)
    }
    assert suspicious == {("staff.User", "password")}  # Django's salted hash


def test_masking_never_shows_a_secret_whole():
    assert crypto.mask("") == ""
    assert crypto.mask("short-secret") == "••••"
    assert crypto.mask("a-long-single-line-secret-9f3c") == "••••9f3c"
    assert crypto.mask("-----BEGIN PRIVATE KEY-----\nMIIE\n-----END PRIVATE KEY-----") == "••••"


def test_the_code_event_never_goes_through_the_broker():
    from aftersales.common import events

    assert events.AttachCodeIssued in IN_PROCESS
    assert events.handlers_for(events.AttachCodeIssued) == [
        ("aftersales.messaging.services:on_attach_code_issued", False)]
    with pytest.raises(TypeError, match="carries a secret"):
        events.subscribe(events.AttachCodeIssued, lambda e: None, background=True)
