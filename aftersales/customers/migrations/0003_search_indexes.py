from django.db import migrations

from aftersales.common.pgsearch import trigram_indexes


class Migration(migrations.Migration):
    dependencies = [("customers", "0002_initial")]

    operations = [
        trigram_indexes(
            ("customer_name_trgm", "customers_customer USING gin (UPPER(name::text) gin_trgm_ops)"),
            ("customer_name_prefix", "customers_customer (name varchar_pattern_ops)"),
            ("customer_mobile_trgm", "customers_customer USING gin (mobile_digits gin_trgm_ops)"),
        )
    ]
