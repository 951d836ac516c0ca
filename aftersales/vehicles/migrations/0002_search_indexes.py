from django.db import migrations

from aftersales.common.pgsearch import trigram_indexes


class Migration(migrations.Migration):
    dependencies = [("vehicles", "0001_initial")]

    operations = [
        trigram_indexes(
            ("vehicle_plate_trgm", "vehicles_vehicle USING gin (plate gin_trgm_ops)"),
            ("vehicle_vin_trgm", "vehicles_vehicle USING gin (vin gin_trgm_ops)"),
        )
    ]
