"""Merchant secrets encrypted at rest (issue 13, item 9): the private key and the APIv3 key become text holding Fernet
tokens, and those already stored are encrypted (and written back in clear on a downgrade)."""

from django.db import migrations

import aftersales.common.crypto

encrypt, decrypt = aftersales.common.crypto.migration_encrypt("billing.MerchantAccount", ["private_key", "api_v3_key"])


class Migration(migrations.Migration):
    dependencies = [("billing", "0008_online_providers_merchant_accounts")]

    operations = [
        migrations.AlterField(
            model_name="merchantaccount", name="private_key",
            field=aftersales.common.crypto.EncryptedTextField(verbose_name="merchant private key (PEM)"),
        ),
        migrations.AlterField(
            model_name="merchantaccount", name="api_v3_key",
            field=aftersales.common.crypto.EncryptedTextField(blank=True, max_length=32, verbose_name="APIv3 key"),
        ),
        migrations.RunPython(encrypt, decrypt),
    ]
