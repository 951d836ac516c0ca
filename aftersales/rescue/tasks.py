from celery import shared_task


@shared_task(name="aftersales.rescue.escalation_sweep", ignore_result=True)
def escalation_sweep() -> int:
    """Every minute: drafts for critical telematics alerts that have none yet (a missed event handler), then alerts on
    the dispatcher's board for late dispatch, acceptance or arrival (once per case)."""
    from .services import escalation_sweep as sweep
    from .services import telematics_intake_sweep

    telematics_intake_sweep()
    return sweep()


@shared_task(name="aftersales.rescue.calibrate", ignore_result=True)
def calibrate() -> int:
    """Nightly: each store's detour factor from its past promised-vs-actual arrivals."""
    from .models import RescueArea
    from .services import area_calibrate

    n = 0
    for area in RescueArea.objects.select_related("store"):
        area_calibrate(store=area.store)
        n += 1
    return n
