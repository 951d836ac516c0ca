"""The stock ledger (aftersales.parts.services): invariants under any sequence of operations, moving-average cost,
reservations, batch/serial tracking and adjustments with approval."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.db import transaction
from django.db.models import Sum
from django.utils import timezone
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule, run_state_machine_as_test

from aftersales.common.errors import Conflict, Forbidden, IllegalTransition, ValidationFailed
from aftersales.common.models import AuditEvent
from aftersales.common.tests.factories import CustomerFactory, VehicleFactory, make_staff
from aftersales.parts.choices import AdjustmentStatus, MovementKind, ReservationStatus
from aftersales.parts.models import AdjustmentRequest, Batch, Part, PartsEvent, Reservation, StockItem, StockMovement
from aftersales.parts.services import (
    adjustment_decide,
    expire_reservations,
    parse_quantity,
    release,
    release_for_reference,
    reserve,
    stock_adjust,
    stock_issue,
    stock_receive,
    stock_return,
)
from aftersales.workshop.services import repair_order_record_visit


# ---- helpers -----------------------------------------------------------------------------------------------------
def make_jobs(store, advisor, n: int = 1):
    """A repair order at ``store`` with ``n`` jobs to issue parts to."""
    customer = CustomerFactory(home_store=store, group=store.group)
    vehicle = VehicleFactory(owner=customer, group=store.group)
    order = repair_order_record_visit(
        actor=advisor, store=store, customer=customer, vehicle=vehicle, opened_at=timezone.now(),
        jobs=[{"title": f"保养 {i + 1}", "job_type": "maintenance"} for i in range(n)],
    )
    return list(order.jobs.select_related("order").order_by("seq"))


def new_part(**fields) -> Part:
    part = Part.objects.create(**fields)
    part.refresh_from_db()  # prices as Decimal, as a part read from the database has them
    return part


def item_of(store, part) -> StockItem:
    return StockItem.objects.get(store=store, part=part)


def ledger_snapshot() -> tuple:
    """Everything an operation may write: row counts and every stock item's quantities."""
    return (
        StockMovement.objects.count(),
        Reservation.objects.count(),
        tuple(Reservation.objects.order_by("pk").values_list("pk", "status", "quantity")),
        AdjustmentRequest.objects.count(),
        Batch.objects.count(),
        tuple(StockItem.objects.order_by("pk").values_list("pk", "on_hand", "reserved", "avg_cost")),
    )


def assert_ledger_consistent() -> None:
    for item in StockItem.objects.all():
        moves = StockMovement.objects.filter(stock_item=item)
        total = moves.aggregate(t=Sum("quantity"))["t"] or Decimal(0)
        last = moves.order_by("-id").values_list("balance_after", flat=True).first()
        assert item.on_hand == total, (item, total)
        assert item.on_hand == (last if last is not None else Decimal(0)), (item, last)
        assert item.on_hand >= 0
        active = Reservation.objects.filter(stock_item=item, status=ReservationStatus.ACTIVE)
        assert item.reserved == (active.aggregate(t=Sum("quantity"))["t"] or Decimal(0)), item
        assert item.reserved >= 0
    # every running balance is the sum of the rows before it
    running: dict[int, Decimal] = {}
    for m in StockMovement.objects.order_by("id"):
        running[m.stock_item_id] = running.get(m.stock_item_id, Decimal(0)) + m.quantity
        assert m.balance_after == running[m.stock_item_id] >= 0


def refused(exc_info, code: str, field: str) -> None:
    assert exc_info.value.code == code, exc_info.value.as_dict()
    assert exc_info.value.field == field, exc_info.value.as_dict()


@pytest.fixture
def clerk(world):
    """A parts clerk at both stores."""
    return make_staff("parts_clerk", world.a, world.b)


@pytest.fixture
def manager(world):
    return make_staff("store_manager", world.a, world.b)


@pytest.fixture
def filter_part(world):
    return new_part(group=world.group, number="90915-YZZD1", name_zh="机油滤清器", name_en="Oil filter",
                               unit="piece", cost_price="10.00")


@pytest.fixture
def oil(world):
    return new_part(group=world.group, number="08880-83715", name_zh="全合成机油 0W-20", unit="litre",
                               cost_price="8.00")


# ---- any sequence of operations keeps the ledger consistent ---------------------------------------------------------
QTY_PIECES = st.integers(min_value=1, max_value=12).map(str)
QTY_LITRES = st.integers(min_value=1, max_value=48).map(lambda n: str(Decimal(n) / 4))  # 0.25 .. 12


class LedgerMachine(RuleBasedStateMachine):
    """A model of what on-hand, reserved and each job's holding must be; every service call is checked against it.

    The world (stores, staff, parts, jobs) is built once outside; each example runs in a savepoint rolled back at
    teardown.
    """

    ctx: dict = {}

    def __init__(self) -> None:
        super().__init__()
        self._atomic = transaction.atomic()
        self._atomic.__enter__()
        c = self.ctx
        self.stores, self.parts, self.jobs = c["stores"], c["parts"], c["jobs"]
        self.clerk, self.manager = c["clerk"], c["manager"]
        self.on_hand: dict[tuple[int, int], Decimal] = {}
        self.reserved: dict[tuple[int, int], dict[str, Decimal]] = {}  # active reservations by reference
        self.held: dict[tuple[int, int, int], Decimal] = {}  # (store, part, job) -> issued - returned
        self.pending: list[tuple[AdjustmentRequest, tuple[int, int]]] = []
        self.expiring: dict[tuple[int, int], dict[str, int]] = {}  # reference -> expiry hour
        self.now = timezone.now()
        self.hour = 0
        self.refs = 0

    def teardown(self) -> None:
        transaction.set_rollback(True)
        self._atomic.__exit__(None, None, None)

    # -- model helpers
    def key(self, s: int, p: int) -> tuple[int, int]:
        return (self.stores[s].pk, self.parts[p].pk)

    def expect_unchanged(self, fn, code: str, field: str, exc=ValidationFailed) -> None:
        before = ledger_snapshot()
        with pytest.raises(exc) as info:
            fn()
        refused(info, code, field)
        assert ledger_snapshot() == before

    # -- valid operations
    @rule(s=st.integers(0, 1), p=st.integers(0, 1), n=st.data(), cost=st.integers(800, 1200))
    def receive(self, s, p, n, cost):
        q = n.draw(QTY_PIECES if p == 0 else QTY_LITRES)
        stock_receive(actor=self.clerk, store=self.stores[s], part=self.parts[p], quantity=q,
                      unit_cost=str(Decimal(cost) / 100))
        k = self.key(s, p)
        self.on_hand[k] = self.on_hand.get(k, Decimal(0)) + Decimal(q)

    @rule(s=st.integers(0, 1), p=st.integers(0, 1), j=st.integers(0, 1), n=st.data())
    def issue(self, s, p, j, n):
        q = Decimal(n.draw(QTY_PIECES if p == 0 else QTY_LITRES))
        k = self.key(s, p)
        job = self.jobs[s][j]
        have = self.on_hand.get(k, Decimal(0))
        refs = self.reserved.setdefault(k, {})
        own = refs.get(f"job:{job.pk}", Decimal(0))
        used = min(own, q)
        reserved_after = sum(refs.values()) - used
        call = lambda: stock_issue(actor=self.clerk, store=self.stores[s], part=self.parts[p], quantity=str(q), job=job)  # noqa: E731
        if q > have:
            self.expect_unchanged(call, "insufficient_stock", "quantity")
        elif have - q < reserved_after:
            self.expect_unchanged(call, "insufficient_available", "quantity")
        else:
            movement = call()
            assert movement.kind == MovementKind.ISSUE and movement.quantity == -q
            assert movement.vehicle_id == job.order.vehicle_id and movement.customer_id == job.order.customer_id
            self.on_hand[k] = have - q
            if own:
                if used >= own:
                    del refs[f"job:{job.pk}"]
                    self.expiring.get(k, {}).pop(f"job:{job.pk}", None)
                else:
                    refs[f"job:{job.pk}"] = own - used
            hk = (*k, job.pk)
            self.held[hk] = self.held.get(hk, Decimal(0)) + q

    @rule(s=st.integers(0, 1), p=st.integers(0, 1), j=st.integers(0, 1), n=st.data())
    def give_back(self, s, p, j, n):
        """Return from a job: at most what it holds (else refused, nothing written)."""
        q = Decimal(n.draw(QTY_PIECES if p == 0 else QTY_LITRES))
        k = self.key(s, p)
        job = self.jobs[s][j]
        hk = (*k, job.pk)
        call = lambda: stock_return(actor=self.clerk, store=self.stores[s], part=self.parts[p], quantity=str(q), job=job)  # noqa: E731
        if q > self.held.get(hk, Decimal(0)):
            self.expect_unchanged(call, "return_exceeds_issued", "quantity")
        else:
            call()
            self.held[hk] -= q
            self.on_hand[k] = self.on_hand.get(k, Decimal(0)) + q

    @rule(s=st.integers(0, 1), p=st.integers(0, 1), n=st.integers(1, 5), sign=st.sampled_from([1, -1]))
    def adjust_small(self, s, p, n, sign):
        """Worth at most 5 × ~12 CNY: below the 500 CNY threshold, applied at once."""
        q = Decimal(sign * n)
        k = self.key(s, p)
        have = self.on_hand.get(k, Decimal(0))
        call = lambda: stock_adjust(actor=self.clerk, store=self.stores[s], part=self.parts[p], quantity=str(q), reason="盘点差异")  # noqa: E731
        if have + q < 0:
            self.expect_unchanged(call, "insufficient_stock", "quantity")
        else:
            result = call()
            assert isinstance(result, StockMovement) and result.kind == MovementKind.ADJUSTMENT
            self.on_hand[k] = have + q

    @rule(s=st.integers(0, 1), p=st.integers(0, 1), n=st.integers(70, 90), sign=st.sampled_from([1, -1]))
    def adjust_large(self, s, p, n, sign):
        """Worth more than 500 CNY (costs are 8-12 CNY): the clerk's adjustment waits for a manager."""
        k = self.key(s, p)
        before = StockMovement.objects.count()
        result = stock_adjust(actor=self.clerk, store=self.stores[s], part=self.parts[p], quantity=str(sign * n), reason="报废")
        assert isinstance(result, AdjustmentRequest) and result.status == AdjustmentStatus.PENDING
        assert StockMovement.objects.count() == before
        self.pending.append((result, k))

    @rule(data=st.data(), approve=st.booleans())
    def decide(self, data, approve):
        if not self.pending:
            return
        request, k = self.pending.pop(data.draw(st.integers(0, len(self.pending) - 1)))
        have = self.on_hand.get(k, Decimal(0))
        call = lambda: adjustment_decide(actor=self.manager, request=request, approve=approve)  # noqa: E731
        if approve and have + request.quantity < 0:
            self.expect_unchanged(call, "insufficient_stock", "quantity")
            request.refresh_from_db()
            assert request.status == AdjustmentStatus.PENDING
            self.pending.append((request, k))
            return
        before = StockMovement.objects.count()
        decided = call()
        assert decided.status == (AdjustmentStatus.APPROVED if approve else AdjustmentStatus.REJECTED)
        assert StockMovement.objects.count() == before + (1 if approve else 0)
        if approve:
            self.on_hand[k] = have + request.quantity
        self.expect_unchanged(call, "illegal_transition", "status", exc=IllegalTransition)

    @rule(s=st.integers(0, 1), p=st.integers(0, 1), n=st.data(), for_job=st.integers(-1, 1), expires=st.integers(0, 4))
    def reserve_some(self, s, p, n, for_job, expires):
        q = Decimal(n.draw(QTY_PIECES if p == 0 else QTY_LITRES))
        k = self.key(s, p)
        if for_job >= 0:
            ref = f"job:{self.jobs[s][for_job].pk}"
        else:
            self.refs += 1
            ref = f"appointment:{self.refs}"
        refs = self.reserved.setdefault(k, {})
        expires_at = self.now + dt.timedelta(hours=self.hour + expires, minutes=30) if expires else None
        call = lambda: reserve(actor=self.clerk, store=self.stores[s], part=self.parts[p], quantity=str(q),  # noqa: E731
                               source="job" if for_job >= 0 else "appointment", reference=ref, expires_at=expires_at)
        if ref in refs:  # idempotent: the existing reservation, nothing changes
            before = ledger_snapshot()
            assert call().quantity == refs[ref]
            assert ledger_snapshot() == before
        elif q > self.on_hand.get(k, Decimal(0)) - sum(refs.values()):
            self.expect_unchanged(call, "insufficient_available", "quantity")
        else:
            call()
            refs[ref] = q
            if expires_at is not None:
                self.expiring.setdefault(k, {})[ref] = self.hour + expires
            else:
                self.expiring.get(k, {}).pop(ref, None)

    @rule(data=st.data())
    def release_one(self, data):
        active = list(Reservation.objects.filter(status=ReservationStatus.ACTIVE).order_by("pk"))
        if not active:
            return
        r = active[data.draw(st.integers(0, len(active) - 1))]
        k = (r.store_id, r.part_id)
        if data.draw(st.booleans()):
            release(reservation=r)
        else:
            assert release_for_reference(reference=r.reference) >= 1
            for other in active:  # the same reference may hold other parts too
                if other.reference == r.reference and other.pk != r.pk:
                    self.reserved[(other.store_id, other.part_id)].pop(other.reference)
        self.reserved[k].pop(r.reference)
        for key in list(self.expiring):
            self.expiring[key] = {ref: h for ref, h in self.expiring[key].items() if ref in self.reserved.get(key, {})}
        before = ledger_snapshot()
        assert release(reservation=r).status != ReservationStatus.ACTIVE  # again: nothing changes
        assert ledger_snapshot() == before

    @rule()
    def time_passes(self):
        self.hour += 1
        expired = expire_reservations(now=self.now + dt.timedelta(hours=self.hour))
        n = 0
        for k, refs in self.expiring.items():
            for ref, h in list(refs.items()):
                if h < self.hour and ref in self.reserved.get(k, {}):
                    self.reserved[k].pop(ref)
                    refs.pop(ref)
                    n += 1
        assert expired == n

    # -- invalid input: refused, naming the field, nothing written
    @rule(s=st.integers(0, 1), bad=st.sampled_from(["-1", "0", "1.5", "0.333", "abc", "", "NaN", "1e9"]), op=st.integers(0, 3))
    def bad_quantity(self, s, bad, op):
        part, job = self.parts[0], self.jobs[s][0]  # counted in pieces
        store = self.stores[s]
        calls = [
            lambda: stock_receive(actor=self.clerk, store=store, part=part, quantity=bad, unit_cost="10"),
            lambda: stock_issue(actor=self.clerk, store=store, part=part, quantity=bad, job=job),
            lambda: stock_return(actor=self.clerk, store=store, part=part, quantity=bad, job=job),
            lambda: reserve(actor=self.clerk, store=store, part=part, quantity=bad, source="manual", reference="manual:x"),
        ]
        before = ledger_snapshot()
        with pytest.raises(ValidationFailed) as info:
            calls[op]()
        assert info.value.field == "quantity"
        assert info.value.code in {"quantity_format", "quantity_not_positive", "quantity_not_whole", "quantity_precision",
                                   "quantity_too_large"}
        assert ledger_snapshot() == before

    @rule(s=st.integers(0, 1), p=st.integers(0, 1), extra=st.integers(1, 5))
    def issue_too_much(self, s, p, extra):
        k = self.key(s, p)
        q = self.on_hand.get(k, Decimal(0)) + extra
        job = self.jobs[s][0]
        self.expect_unchanged(
            lambda: stock_issue(actor=self.clerk, store=self.stores[s], part=self.parts[p], quantity=str(q), job=job),
            "insufficient_stock", "quantity",
        )

    @rule(s=st.integers(0, 1))
    def issue_to_other_stores_job(self, s):
        job = self.jobs[1 - s][0]
        self.expect_unchanged(
            lambda: stock_issue(actor=self.clerk, store=self.stores[s], part=self.parts[0], quantity="1", job=job),
            "job_other_store", "job",
        )

    @invariant()
    def ledger_matches_model(self):
        assert_ledger_consistent()
        for item in StockItem.objects.all():
            k = (item.store_id, item.part_id)
            assert item.on_hand == self.on_hand.get(k, Decimal(0)), k
            assert item.reserved == sum(self.reserved.get(k, {}).values(), Decimal(0)), k

    @initialize()
    def start(self):
        assert not StockMovement.objects.exists()


def test_any_sequence_of_operations_keeps_the_ledger_consistent(world, clerk, manager, filter_part, oil):
    LedgerMachine.ctx = {
        "stores": [world.a, world.b],
        "parts": [filter_part, oil],
        "jobs": [make_jobs(world.a, world.advisor, 2), make_jobs(world.b, world.advisor_b, 2)],
        "clerk": clerk,
        "manager": manager,
    }
    run_state_machine_as_test(
        LedgerMachine,
        settings=settings(max_examples=50, stateful_step_count=25, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much]),
    )


# ---- quantities ----------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("value", "code"),
    [("-2", "quantity_not_positive"), ("0", "quantity_not_positive"), ("1.5", "quantity_not_whole"),
     ("1.005", "quantity_precision"), ("x", "quantity_format"), ("Infinity", "quantity_format"),
     ("10000000", "quantity_too_large")],
)
def test_parse_quantity_refuses_for_pieces(filter_part, value, code):
    with pytest.raises(ValidationFailed) as info:
        parse_quantity(value, filter_part)
    refused(info, code, "quantity")


def test_parse_quantity_litres_and_signed(oil, filter_part):
    assert parse_quantity(" 1.25 ", oil) == Decimal("1.25")
    assert parse_quantity("-3", filter_part, allow_negative=True) == Decimal("-3")
    with pytest.raises(ValidationFailed):
        parse_quantity("-0.5", filter_part, allow_negative=True)


# ---- moving average cost ------------------------------------------------------------------------------------------
def test_moving_average_cost_exact_figures(world, clerk, filter_part):
    job = make_jobs(world.a, world.advisor)[0]
    stock_receive(actor=clerk, store=world.a, part=filter_part, quantity="10", unit_cost="60.00")
    m2 = stock_receive(actor=clerk, store=world.a, part=filter_part, quantity="5", unit_cost="72.50")
    item = item_of(world.a, filter_part)
    assert item.avg_cost == Decimal("64.1667")  # (600 + 362.50) / 15 = 64.16666…
    assert m2.unit_cost == Decimal("72.5000")
    issued = stock_issue(actor=clerk, store=world.a, part=filter_part, quantity="3", job=job)
    assert issued.unit_cost == Decimal("64.1667")  # issues are valued at the average; they do not change it
    assert item_of(world.a, filter_part).avg_cost == Decimal("64.1667")
    stock_receive(actor=clerk, store=world.a, part=filter_part, quantity="7", unit_cost="61.13")
    # (12 × 64.1667 + 7 × 61.13) / 19 = 1197.9104 / 19 = 63.04791…
    assert item_of(world.a, filter_part).avg_cost == Decimal("63.0479")
    # store B keeps its own average
    stock_receive(actor=clerk, store=world.b, part=filter_part, quantity="1", unit_cost="99.99")
    assert item_of(world.b, filter_part).avg_cost == Decimal("99.9900")
    assert item_of(world.a, filter_part).avg_cost == Decimal("63.0479")


def test_moving_average_restarts_from_empty_stock(world, clerk, oil):
    job = make_jobs(world.a, world.advisor)[0]
    stock_receive(actor=clerk, store=world.a, part=oil, quantity="2.5", unit_cost="40.00")
    stock_receive(actor=clerk, store=world.a, part=oil, quantity="1.25", unit_cost="46.00")
    assert item_of(world.a, oil).avg_cost == Decimal("42.0000")  # (100 + 57.5) / 3.75
    stock_issue(actor=clerk, store=world.a, part=oil, quantity="3.75", job=job)
    stock_receive(actor=clerk, store=world.a, part=oil, quantity="1", unit_cost="50.01")
    assert item_of(world.a, oil).avg_cost == Decimal("50.0100")
    stock_receive(actor=clerk, store=world.a, part=oil, quantity="2", unit_cost="50.00")
    assert item_of(world.a, oil).avg_cost == Decimal("50.0033")  # 150.01 / 3 = 50.00333…


# ---- reservations --------------------------------------------------------------------------------------------------
def test_available_is_on_hand_minus_reserved(world, clerk, filter_part):
    stock_receive(actor=clerk, store=world.a, part=filter_part, quantity="5", unit_cost="10")
    reserve(actor=clerk, store=world.a, part=filter_part, quantity="2", source="appointment", reference="appointment:1")
    item = item_of(world.a, filter_part)
    assert (item.on_hand, item.reserved, item.available) == (5, 2, 3)
    before = ledger_snapshot()
    with pytest.raises(ValidationFailed) as info:
        reserve(actor=clerk, store=world.a, part=filter_part, quantity="4", source="appointment", reference="appointment:2")
    refused(info, "insufficient_available", "quantity")
    assert Decimal(info.value.extra["available"]) == 3
    assert ledger_snapshot() == before
    reserve(actor=clerk, store=world.a, part=filter_part, quantity="3", source="appointment", reference="appointment:2")
    assert item_of(world.a, filter_part).available == 0
    with pytest.raises(ValidationFailed) as info:  # nothing left at store A; store B is another stock
        reserve(actor=clerk, store=world.a, part=filter_part, quantity="1", source="manual", reference="manual:1")
    refused(info, "insufficient_available", "quantity")


def test_issue_consumes_the_jobs_own_reservation_first(world, clerk, filter_part):
    job_x, job_y = make_jobs(world.a, world.advisor, 2)
    stock_receive(actor=clerk, store=world.a, part=filter_part, quantity="5", unit_cost="10")
    rx = reserve(actor=clerk, store=world.a, part=filter_part, quantity="3", source="job", reference=f"job:{job_x.pk}")
    reserve(actor=clerk, store=world.a, part=filter_part, quantity="2", source="appointment", reference="appointment:7")
    assert item_of(world.a, filter_part).available == 0
    # another job finds nothing free
    before = ledger_snapshot()
    with pytest.raises(ValidationFailed) as info:
        stock_issue(actor=clerk, store=world.a, part=filter_part, quantity="1", job=job_y)
    refused(info, "insufficient_available", "quantity")
    assert ledger_snapshot() == before
    # job X draws on its own reservation
    stock_issue(actor=clerk, store=world.a, part=filter_part, quantity="2", job=job_x)
    rx.refresh_from_db()
    item = item_of(world.a, filter_part)
    assert (rx.status, rx.quantity, item.on_hand, item.reserved) == (ReservationStatus.ACTIVE, 1, 3, 3)
    # beyond its reservation it needs free stock: none
    before = ledger_snapshot()
    with pytest.raises(ValidationFailed) as info:
        stock_issue(actor=clerk, store=world.a, part=filter_part, quantity="2", job=job_x)
    refused(info, "insufficient_available", "quantity")
    assert ledger_snapshot() == before
    stock_issue(actor=clerk, store=world.a, part=filter_part, quantity="1", job=job_x)
    rx.refresh_from_db()
    assert rx.status == ReservationStatus.CONSUMED and rx.closed_at is not None
    item = item_of(world.a, filter_part)
    assert (item.on_hand, item.reserved) == (2, 2)
    assert_ledger_consistent()


def test_release_and_expiry_give_stock_back_idempotently(world, clerk, filter_part):
    stock_receive(actor=clerk, store=world.a, part=filter_part, quantity="6", unit_cost="10")
    now = timezone.now()
    r1 = reserve(actor=clerk, store=world.a, part=filter_part, quantity="2", source="appointment", reference="appointment:1")
    again = reserve(actor=clerk, store=world.a, part=filter_part, quantity="5", source="appointment", reference="appointment:1")
    assert again.pk == r1.pk and Reservation.objects.count() == 1  # idempotent per reference
    reserve(actor=clerk, store=world.a, part=filter_part, quantity="1", source="appointment", reference="appointment:2",
            expires_at=now + dt.timedelta(hours=1))
    reserve(actor=clerk, store=world.a, part=filter_part, quantity="3", source="job", reference="job:99",
            expires_at=now + dt.timedelta(days=2))
    assert item_of(world.a, filter_part).reserved == 6
    assert release(reservation=r1).status == ReservationStatus.RELEASED
    assert release(reservation=r1).status == ReservationStatus.RELEASED  # twice: still 2 given back, not 4
    assert item_of(world.a, filter_part).reserved == 4
    assert expire_reservations(now=now) == 0
    assert expire_reservations(now=now + dt.timedelta(hours=2)) == 1
    assert expire_reservations(now=now + dt.timedelta(hours=2)) == 0
    assert item_of(world.a, filter_part).reserved == 3
    assert Reservation.objects.get(reference="appointment:2").status == ReservationStatus.EXPIRED
    assert release_for_reference(reference="job:99") == 1
    assert release_for_reference(reference="job:99") == 0
    item = item_of(world.a, filter_part)
    assert (item.on_hand, item.reserved, item.available) == (6, 0, 6)
    # a released reference may reserve again
    reserve(actor=clerk, store=world.a, part=filter_part, quantity="6", source="appointment", reference="appointment:1")
    assert item_of(world.a, filter_part).reserved == 6
    assert_ledger_consistent()


def test_reserve_refuses_unknown_source(world, clerk, filter_part):
    with pytest.raises(ValidationFailed) as info:
        reserve(actor=clerk, store=world.a, part=filter_part, quantity="1", source="whim", reference="x:1")
    refused(info, "invalid_choice", "source")


# ---- batch and serial tracking ------------------------------------------------------------------------------------
def test_batch_tracked_part(world, clerk):
    battery = new_part(group=world.group, number="28800-YZZJ5", name_zh="蓄电池", unit="piece",
                                  cost_price="600", tracking="batch", warranty_months=24)
    job = make_jobs(world.a, world.advisor)[0]
    before = ledger_snapshot()
    with pytest.raises(ValidationFailed) as info:
        stock_receive(actor=clerk, store=world.a, part=battery, quantity="5", unit_cost="600")
    refused(info, "batch_required", "batch_number")
    assert ledger_snapshot() == before
    m1 = stock_receive(actor=clerk, store=world.a, part=battery, quantity="5", unit_cost="600", batch_number="B2405",
                       origin="天津", production_date=dt.date(2024, 5, 31))
    stock_receive(actor=clerk, store=world.a, part=battery, quantity="3", unit_cost="610", batch_number="B2406")
    b1 = m1.batch
    assert b1.warranty_until == dt.date(2026, 5, 31) and b1.origin == "天津"
    with pytest.raises(ValidationFailed) as info:
        stock_issue(actor=clerk, store=world.a, part=battery, quantity="1", job=job)
    refused(info, "batch_required", "batch")
    before = ledger_snapshot()
    with pytest.raises(ValidationFailed) as info:  # 8 on hand, but batch B2405 holds only 5
        stock_issue(actor=clerk, store=world.a, part=battery, quantity="6", job=job, batch=b1)
    refused(info, "insufficient_batch", "batch")
    assert ledger_snapshot() == before
    issued = stock_issue(actor=clerk, store=world.a, part=battery, quantity="5", job=job, batch=b1)
    assert (issued.batch_id, issued.repair_job_id, issued.vehicle_id) == (b1.pk, job.pk, job.order.vehicle_id)
    with pytest.raises(ValidationFailed) as info:
        stock_issue(actor=clerk, store=world.a, part=battery, quantity="1", job=job, batch=b1)
    refused(info, "insufficient_batch", "batch")
    other = new_part(group=world.group, number="X-1", name_zh="别的", tracking="batch")
    foreign = Batch.objects.create(part=other, number="B2405")
    with pytest.raises(ValidationFailed) as info:
        stock_issue(actor=clerk, store=world.a, part=battery, quantity="1", job=job, batch=foreign)
    refused(info, "batch_unknown", "batch")
    assert_ledger_consistent()


def test_serial_tracked_part(world, clerk):
    charger = new_part(group=world.group, number="1044321-00-C", name_zh="车载充电机", unit="piece",
                                  cost_price="5000", tracking="serial")
    job = make_jobs(world.a, world.advisor)[0]
    with pytest.raises(ValidationFailed) as info:
        stock_receive(actor=clerk, store=world.a, part=charger, quantity="2", unit_cost="5000", batch_number="SN001")
    refused(info, "serial_quantity", "quantity")
    m = stock_receive(actor=clerk, store=world.a, part=charger, quantity="1", unit_cost="5000", batch_number="SN001")
    before = ledger_snapshot()
    with pytest.raises(Conflict) as info:  # the same serial again, also at the other store
        stock_receive(actor=clerk, store=world.b, part=charger, quantity="1", unit_cost="5000", batch_number="SN001")
    refused(info, "serial_exists", "batch_number")
    assert ledger_snapshot() == before
    stock_issue(actor=clerk, store=world.a, part=charger, quantity="1", job=job, batch=m.batch)
    with pytest.raises(ValidationFailed) as info:
        stock_issue(actor=clerk, store=world.a, part=charger, quantity="1", job=job, batch=m.batch)
    refused(info, "insufficient_batch", "batch")  # the one unit of that serial is gone
    assert Batch.objects.filter(part=charger).count() == 1


# ---- adjustments ---------------------------------------------------------------------------------------------------
def test_adjustment_at_threshold_is_applied_at_once_with_audit(world, clerk, filter_part):
    stock_receive(actor=clerk, store=world.a, part=filter_part, quantity="60", unit_cost="10.00")
    result = stock_adjust(actor=clerk, store=world.a, part=filter_part, quantity="-50", reason="  水浸   报废 ")
    assert isinstance(result, StockMovement)  # 50 × 10.00 = 500: not above the threshold
    assert (result.kind, result.quantity, result.balance_after, result.reason) == ("adjustment", -50, 10, "水浸 报废")
    event = AuditEvent.objects.get(action="stock.adjusted")
    assert event.changes == {"on_hand": ["60.00", "10.00"]} and event.store_id == world.a.pk
    assert not AdjustmentRequest.objects.exists()
    with pytest.raises(ValidationFailed) as info:
        stock_adjust(actor=clerk, store=world.a, part=filter_part, quantity="-1", reason="   ")
    refused(info, "reason_required", "reason")
    with pytest.raises(ValidationFailed) as info:
        stock_adjust(actor=clerk, store=world.a, part=filter_part, quantity="-11", reason="丢失")
    refused(info, "insufficient_stock", "quantity")
    assert item_of(world.a, filter_part).on_hand == 10


def test_adjustment_above_threshold_waits_for_a_manager(world, clerk, manager, filter_part):
    stock_receive(actor=clerk, store=world.a, part=filter_part, quantity="60", unit_cost="10.00")
    request = stock_adjust(actor=clerk, store=world.a, part=filter_part, quantity="-51", reason="丢失")
    assert isinstance(request, AdjustmentRequest) and request.status == AdjustmentStatus.PENDING
    assert StockMovement.objects.count() == 1 and item_of(world.a, filter_part).on_hand == 60
    assert AuditEvent.objects.filter(action="stock.adjustment_requested").count() == 1
    # a clerk cannot approve; a manager of another store cannot either
    with pytest.raises(Forbidden) as info:
        adjustment_decide(actor=clerk, request=request, approve=True)
    assert info.value.code == "permission_denied" and info.value.status == 403
    with pytest.raises(Forbidden) as info:
        adjustment_decide(actor=world.manager_b, request=request, approve=True)
    assert info.value.code == "store_not_allowed"
    request.refresh_from_db()
    assert request.status == AdjustmentStatus.PENDING and StockMovement.objects.count() == 1
    decided = adjustment_decide(actor=manager, request=request, approve=True, reason="核实")
    assert decided.status == AdjustmentStatus.APPROVED and decided.decided_by == manager
    assert decided.movement.quantity == -51 and decided.movement.kind == MovementKind.ADJUSTMENT
    assert StockMovement.objects.count() == 2 and item_of(world.a, filter_part).on_hand == 9
    assert list(PartsEvent.objects.filter(adjustment=request).values_list("from_state", "to_state")) == [("pending", "approved")]
    before = ledger_snapshot()
    with pytest.raises(IllegalTransition) as info:
        adjustment_decide(actor=manager, request=request, approve=True)
    assert info.value.code == "illegal_transition"
    with pytest.raises(IllegalTransition):
        adjustment_decide(actor=manager, request=request, approve=False)
    assert ledger_snapshot() == before
    assert_ledger_consistent()


def test_rejected_adjustment_writes_no_movement(world, clerk, manager, filter_part):
    stock_receive(actor=clerk, store=world.a, part=filter_part, quantity="100", unit_cost="10.00")
    request = stock_adjust(actor=clerk, store=world.a, part=filter_part, quantity="+80", reason="盘点找到")
    decided = adjustment_decide(actor=manager, request=request, approve=False, reason="先复盘")
    assert decided.status == AdjustmentStatus.REJECTED and decided.movement is None
    assert StockMovement.objects.count() == 1 and item_of(world.a, filter_part).on_hand == 100
    with pytest.raises(IllegalTransition):
        adjustment_decide(actor=manager, request=request, approve=True)
    assert StockMovement.objects.count() == 1


def test_manager_adjusts_above_threshold_directly(world, manager, filter_part):
    stock_receive(actor=manager, store=world.a, part=filter_part, quantity="100", unit_cost="10.00")
    result = stock_adjust(actor=manager, store=world.a, part=filter_part, quantity="-80", reason="水浸")
    assert isinstance(result, StockMovement) and item_of(world.a, filter_part).on_hand == 20


def test_approval_that_would_make_stock_negative_is_refused_and_stays_pending(world, clerk, manager, filter_part):
    job = make_jobs(world.a, world.advisor)[0]
    stock_receive(actor=clerk, store=world.a, part=filter_part, quantity="60", unit_cost="10.00")
    request = stock_adjust(actor=clerk, store=world.a, part=filter_part, quantity="-55", reason="丢失")
    stock_issue(actor=clerk, store=world.a, part=filter_part, quantity="10", job=job)
    before = ledger_snapshot()
    with pytest.raises(ValidationFailed) as info:
        adjustment_decide(actor=manager, request=request, approve=True)
    refused(info, "insufficient_stock", "quantity")
    assert ledger_snapshot() == before
    request.refresh_from_db()
    assert request.status == AdjustmentStatus.PENDING and not PartsEvent.objects.filter(adjustment=request).exists()


# ---- scoping -------------------------------------------------------------------------------------------------------
def test_staff_of_another_store_cannot_move_stock(world, filter_part):
    clerk_a = world.staff["parts_clerk"]  # works at store A only
    with pytest.raises(Forbidden) as info:
        stock_receive(actor=clerk_a, store=world.b, part=filter_part, quantity="1", unit_cost="1")
    assert info.value.code == "store_not_allowed"
    with pytest.raises(Forbidden) as info:
        stock_receive(actor=world.advisor, store=world.a, part=filter_part, quantity="1", unit_cost="1")
    assert info.value.code == "permission_denied"
    assert not StockMovement.objects.exists()


def test_stock_found_before_any_receipt_is_valued_at_standard_cost(world, clerk, filter_part):
    """Regression: a positive adjustment on a never-received item used to enter at average cost 0, halving the
    average of the next receipt (and the value of later adjustments, which then escaped approval)."""
    found = stock_adjust(actor=clerk, store=world.a, part=filter_part, quantity="1", reason="盘点找到")
    assert found.unit_cost == Decimal("10.0000")
    stock_receive(actor=clerk, store=world.a, part=filter_part, quantity="1", unit_cost="8.00")
    assert item_of(world.a, filter_part).avg_cost == Decimal("9.0000")
