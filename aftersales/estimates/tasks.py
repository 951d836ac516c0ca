from celery import shared_task


@shared_task(name="aftersales.estimates.train_diagnosis", ignore_result=True)
def train_diagnosis() -> int:
    """Every 30 minutes: retrain each dealer group's preliminary-diagnosis model whose history moved (its version
    stamp: orders with a written request and the newest one's id). Requests only load the last trained model."""
    from .diagnosis import train_all

    return train_all()
