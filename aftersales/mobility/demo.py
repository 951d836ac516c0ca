"""Demo pickup and delivery and courtesy cars (`make run`): each store's pickup area and driver shifts, today's trips
in different states (the dispatcher's board, the driver's phone page, the owner's trip page), a courtesy fleet
with a booking to come, a car out on a courtesy-car voucher, and one returned today with new damage whose charges
went on the repair order. Works at any hour: the trips are on the store's local day, the bookings around now."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.utils import timezone

#: a quadrilateral around each store (WGS-84 [lng, lat]), the store's gate, and today's pickup addresses inside it
AREAS: dict[str, dict[str, Any]] = {
    "gz": {
        "polygon": [[113.28, 23.10], [113.40, 23.10], [113.40, 23.18], [113.28, 23.18]],
        "depot": [113.3312, 23.1262],
        "stops": [
            ("广州市天河区天河路385号 太古汇停车场B2 / Taikoo Hui car park B2, 385 Tianhe Rd", 113.3326, 23.1347),
            ("广州市天河区珠江新城花城大道85号 / 85 Huacheng Ave, Zhujiang New Town", 113.3241, 23.1199),
            ("广州市天河区体育西路189号 / 189 Tiyu West Rd", 113.3210, 23.1364),
            ("广州市天河区员村二横路9号 / 9 Yuancun 2nd Cross Rd", 113.3652, 23.1251),
            ("广州市天河区龙口西路68号 / 68 Longkou West Rd", 113.3395, 23.1432),
        ],
    },
    "sz": {
        "polygon": [[114.00, 22.50], [114.12, 22.50], [114.12, 22.58], [114.00, 22.58]],
        "depot": [114.0512, 22.5390],
        "stops": [
            ("深圳市福田区福华三路88号 / 88 Fuhua 3rd Rd, Futian", 114.0556, 22.5352),
            ("深圳市福田区香蜜湖路1号 / 1 Xiangmihu Rd", 114.0301, 22.5441),
            ("深圳市福田区益田路6001号 / 6001 Yitian Rd", 114.0598, 22.5398),
            ("深圳市福田区华强北路1002号 / 1002 Huaqiang North Rd", 114.0853, 22.5469),
            ("深圳市福田区车公庙泰然九路 / Tairan 9th Rd, Chegongmiao", 114.0266, 22.5334),
        ],
    },
}
PLATES = {"gz": "粤A", "sz": "粤B"}
#: today's trips: (stop, window start hour, state); the states a trip passes through to get there
TRIPS = [(0, 9, "at_store"), (1, 10, "picked_up"), (2, 11, "on_the_way"), (3, 14, "scheduled"), (4, 15, "requested")]
PATH = ["requested", "scheduled", "on_the_way", "picked_up", "at_store"]
NOTES = ["钥匙在前台 / The key is at the front desk", "", "请先电话联系 / Please call first", "", "地下车库B2 / Car park level B2"]
CARS = [  # plate suffix, model, energy, rent per day
    ("D1001", "丰田卡罗拉 Corolla", "fuel", "0"),
    ("D1002", "比亚迪秦 BYD Qin EV", "ev", "150"),
    ("D1003", "本田思域 Civic", "fuel", "150"),
    ("D1004", "丰田凯美瑞双擎 Camry Hybrid", "hybrid", "200"),
]


def _signature() -> str:
    from aftersales.reception.demo import _signature_png

    return _signature_png()


def load(builder: Any) -> None:
    from aftersales.billing.models import Invoice
    from aftersales.customers.models import Customer
    from aftersales.loyalty.models import Voucher, VoucherTemplate
    from aftersales.vehicles.models import Vehicle
    from aftersales.workshop.choices import EDITABLE_STATES
    from aftersales.workshop.models import RepairOrder

    from . import services, trips
    from .choices import COURTESY_CAR_CODE
    from .models import CourtesyBooking, CourtesyBookingEvent, Trip, TripEvent

    template, _created = VoucherTemplate.objects.get_or_create(
        group=builder.group, code="courtesy-car",
        defaults={"name_zh": "代步车免费券", "name_en": "Free courtesy car", "kind": "free_item",
                  "service_codes": [COURTESY_CAR_CODE], "validity_days": 365})
    for n, (code, store) in enumerate(sorted(builder.stores.items())):
        cfg = AREAS[code]
        manager = builder._staff_of(store, "manager")
        advisor = builder._staff_of(store, "advisor")
        driver = builder._staff_of(store, "driver")
        zone = store.zone
        now = builder.now
        today = timezone.localtime(now, zone).date()
        trips.service_area_set(actor=manager, store=store, polygon=cfg["polygon"], pickup_fee="50", depot=cfg["depot"])
        trips.driver_week_set(actor=manager, store=store, driver=driver,
                              days=dict.fromkeys(range(6), ("08:30", "18:00")) | {6: ("", "")})

        # today's trips, one in each state up to "at the store"
        vehicles = list(Vehicle.objects.filter(owner__home_store=store, owner__isnull=False).exclude(plate="")
                        .order_by("id")[:len(TRIPS)])
        for (stop, hour, state), vehicle, note in zip(TRIPS, vehicles, NOTES, strict=False):
            address, lng, lat = cfg["stops"][stop]
            start = dt.datetime.combine(today, dt.time(hour), tzinfo=zone)
            path = PATH[:PATH.index(state) + 1]
            created = min(now, start) - dt.timedelta(days=1)
            trip = Trip.objects.create(
                store=store, customer_id=vehicle.owner_id, vehicle=vehicle, address=address, lng=Decimal(str(lng)),
                lat=Decimal(str(lat)), window_start=start, window_end=start + dt.timedelta(hours=2), status=state,
                driver=driver if state != "requested" else None, ordered_via="owner_app" if stop % 2 else "call_centre",
                planned_at=start + dt.timedelta(minutes=30) if state != "requested" else None,
                eta=start + dt.timedelta(minutes=40) if state == "on_the_way" else None, fee=Decimal("50"),
                fee_basis="store_fee", notes=note, created_at=created,
                delivery_window_start=dt.datetime.combine(today, dt.time(17), tzinfo=zone) if state == "at_store" else None,
                delivery_window_end=dt.datetime.combine(today, dt.time(19), tzinfo=zone) if state == "at_store" else None,
            )
            for i, to in enumerate(path):
                TripEvent.objects.create(trip=trip, from_state=path[i - 1] if i else "", to_state=to,
                                         actor=None if i == 0 else (manager if to == "scheduled" else driver),
                                         at=created + dt.timedelta(hours=i))

        # the courtesy fleet
        expires = today + dt.timedelta(days=300)
        cars = [services.courtesy_car_add(actor=manager, store=store, plate=f"{PLATES[code]}{suffix}", vin=_vin(n, i),
                                          model_name=model, energy=energy, insurance_expires=expires.isoformat(),
                                          mileage=12000 + 3100 * i, day_rate=rate)
                for i, (suffix, model, energy, rate) in enumerate(CARS)]
        invoiced = Invoice.objects.values("order_id")
        candidates = list(RepairOrder.objects.filter(store=store, status__in=EDITABLE_STATES).exclude(pk__in=invoiced)
                          .select_related("customer").order_by("id")[:8])
        # the voucher's customer is not tier A (tier A is free anyway and keeps its vouchers)
        plain = [o for o in candidates if not services.is_tier_a(o.customer_id)]
        if len(candidates) < 3 or not plain:
            continue
        rest = [o for o in candidates if o.pk != plain[0].pk]
        orders = [rest[0], plain[0], rest[1]]
        # the bookings around the real clock (the services check "not in the past" against it, and loading the whole
        # demo takes minutes past ``builder.now``)
        now = timezone.now()
        # one returned today with new damage: the fuel, the damage and the rent went on its repair order
        back = services.courtesy_book(actor=advisor, order=orders[0], car=cars[2], starts_at=now - dt.timedelta(minutes=10),
                                      ends_at=now + dt.timedelta(days=1), notes="客户等车期间使用 / While the car is repaired")
        services.courtesy_mark_add(actor=advisor, booking=back, phase="out", x=18, y=30, kind="scratch", note="左前门旧划痕 / old scratch")
        back = services.courtesy_hand_out(actor=advisor, booking=back, licence_number="440106198805120031",
                                          licence_expires=(today + dt.timedelta(days=900)).isoformat(), deposit="2000",
                                          mileage=cars[2].mileage, energy=90, signature=_signature(),
                                          signer_name=orders[0].customer.name, at=now - dt.timedelta(minutes=10))
        services.courtesy_mark_add(actor=advisor, booking=back, phase="in", x=82, y=64, kind="dent", note="右后门凹陷 / rear door dent")
        services.courtesy_return(actor=advisor, booking=back, mileage=cars[2].mileage + 64, energy=70, damage_charge="600",
                                 signature=_signature(), signer_name=orders[0].customer.name, at=timezone.now())
        # the services stamp the real moments, seconds apart: the story reads better lent three hours ago
        lent = now - dt.timedelta(hours=3)
        CourtesyBooking.objects.filter(pk=back.pk).update(starts_at=lent, out_at=lent, created_at=lent - dt.timedelta(minutes=20))
        CourtesyBookingEvent.objects.filter(booking_id=back.pk, to_state="booked").update(at=lent - dt.timedelta(minutes=20))
        CourtesyBookingEvent.objects.filter(booking_id=back.pk, to_state="out").update(at=lent)
        # one out with a courtesy-car voucher (the rent is free; fuel, lateness and damage would still be charged)
        customer = Customer.objects.get(pk=orders[1].customer_id)
        voucher = Voucher.objects.create(template=template, customer=customer, store=store, code=f"DMCC{store.pk:02d}01",
                                         valid_from=today - dt.timedelta(days=20), valid_until=today + dt.timedelta(days=340),
                                         issued_by=manager)
        out = services.courtesy_book(actor=advisor, order=orders[1], car=cars[1], starts_at=now,
                                     ends_at=now + dt.timedelta(days=2), voucher=voucher.code)
        services.courtesy_hand_out(actor=advisor, booking=out, licence_number="440304199203150027",
                                   licence_expires=(today + dt.timedelta(days=1200)).isoformat(), deposit="0",
                                   mileage=cars[1].mileage, energy=85, signature=_signature(), signer_name=customer.name,
                                   at=timezone.now())
        # one booked for tomorrow, and a spare voucher the next customer can use at the desk
        services.courtesy_book(actor=advisor, order=orders[2], car=cars[0], starts_at=now + dt.timedelta(days=1),
                               ends_at=now + dt.timedelta(days=3))
        Voucher.objects.create(template=template, customer_id=orders[2].customer_id, store=store, code=f"DMCC{store.pk:02d}02",
                               valid_from=today - dt.timedelta(days=5), valid_until=today + dt.timedelta(days=360),
                               issued_by=manager)


def _vin(store_n: int, car_n: int) -> str:
    import random

    from aftersales.vehicles.demo import make_demo_vin

    return make_demo_vin(random.Random(9000 + store_n * 10 + car_n), "LFV", "2A2BA", 2024, "C")
