"""Channel secrets encrypted at rest (issue 13, item 9): the columns become text holding Fernet tokens, and the
secrets already stored are encrypted (and written back in clear on a downgrade)."""

from django.db import migrations

import aftersales.common.crypto

encrypt, decrypt = aftersales.common.crypto.migration_encrypt(
    "messaging.ChannelSettings", ["sms_access_key_secret", "wechat_app_secret", "webhook_secret"]
)


class Migration(migrations.Migration):
    dependencies = [("messaging", "0001_initial")]

    operations = [
        migrations.AlterField(
            model_name="channelsettings", name="sms_access_key_secret",
            field=aftersales.common.crypto.EncryptedTextField(blank=True, max_length=200, verbose_name="SMS access key secret / SecretKey"),
        ),
        migrations.AlterField(
            model_name="channelsettings", name="wechat_app_secret",
            field=aftersales.common.crypto.EncryptedTextField(blank=True, max_length=128, verbose_name="WeChat app secret"),
        ),
        migrations.AlterField(
            model_name="channelsettings", name="webhook_secret",
            field=aftersales.common.crypto.EncryptedTextField(blank=True, max_length=128, verbose_name="webhook signing secret"),
        ),
        migrations.RunPython(encrypt, decrypt),
    ]
