"""Invoices issued before gapless numbering keep their numbers; they get their place in the store's yearly
sequence (in issue order) and the counters start after them."""

from zoneinfo import ZoneInfo

from django.db import migrations


def forwards(apps, schema_editor):
    Invoice = apps.get_model("billing", "Invoice")
    NumberSequence = apps.get_model("billing", "NumberSequence")
    last: dict[tuple[int, int], int] = {}
    zones: dict[int, ZoneInfo] = {}
    for inv in Invoice.objects.select_related("store").order_by("issued_at", "id").iterator():
        zone = zones.setdefault(inv.store_id, ZoneInfo(inv.store.time_zone or "Asia/Shanghai"))
        year = inv.issued_at.astimezone(zone).year
        seq = last.get((inv.store_id, year), 0) + 1
        last[(inv.store_id, year)] = seq
        Invoice.objects.filter(pk=inv.pk).update(year=year, seq=seq)
    for (store_id, year), seq in last.items():
        NumberSequence.objects.update_or_create(store_id=store_id, kind="invoice", year=year, defaults={"last": seq})


class Migration(migrations.Migration):
    dependencies = [("billing", "0004_invoicing_payments_delivery")]
    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
