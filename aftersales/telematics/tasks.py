from celery import shared_task


@shared_task(name="aftersales.telematics.partitions", ignore_result=True)
def partitions() -> int:
    """Daily (PostgreSQL): the readings' monthly partitions of this month and the next three exist. A no-op on SQLite."""
    from .partitions import ensure_partitions

    return len(ensure_partitions())


@shared_task(name="aftersales.telematics.prune", ignore_result=True)
def prune() -> int:
    """Nightly: readings past TELEMATICS_RETENTION_DAYS go (whole monthly partitions dropped on PostgreSQL)."""
    from .services import readings_prune

    return readings_prune()
