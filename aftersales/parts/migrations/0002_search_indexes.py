from django.db import migrations

from aftersales.common.pgsearch import trigram_indexes


class Migration(migrations.Migration):
    dependencies = [("parts", "0001_initial")]

    operations = [
        trigram_indexes(
            ("part_number_trgm", "parts_part USING gin (number gin_trgm_ops)"),
            ("part_oem_trgm", "parts_part USING gin (oem_number gin_trgm_ops)"),
            ("part_name_zh_trgm", "parts_part USING gin (name_zh gin_trgm_ops)"),
            ("part_name_en_trgm", "parts_part USING gin (UPPER(name_en::text) gin_trgm_ops)"),
            ("part_alias_trgm", "parts_partalias USING gin (number gin_trgm_ops)"),
        )
    ]
