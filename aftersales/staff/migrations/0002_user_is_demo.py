from django.db import migrations, models

DEMO_GROUP_NAME = "华南汽车服务集团 / South China Auto Group"  # aftersales.common.demo.GROUP_NAME when this was written


def mark_demo_users(apps, schema_editor):
    """An install that already carries the demo: its staff are demo accounts (issue 13, item 2)."""
    User = apps.get_model("staff", "User")
    User.objects.filter(dealer_group__name=DEMO_GROUP_NAME).update(is_demo=True)


class Migration(migrations.Migration):
    dependencies = [("staff", "0001_initial"), ("stores", "0001_initial")]

    operations = [
        migrations.AddField(
            model_name="user",
            name="is_demo",
            field=models.BooleanField(default=False, editable=False, verbose_name="demo account"),
        ),
        migrations.RunPython(mark_demo_users, migrations.RunPython.noop),
    ]
