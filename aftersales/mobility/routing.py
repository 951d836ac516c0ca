"""The day's route plan for pickup drivers: OR-Tools' routing solver (vehicle routing with time windows).

Every pickup is a round trip from the store: the driver gets to the owner's door inside the window, does the
handover, and drives the owner's car back to the store before the next pickup. So going from pickup i to pickup j
costs i's handover + the drive from i to the store + the drive from the store to j. Each driver works inside their
shift (start and end at the store); a trip that fits nobody's day is left unplanned (a penalty, never a failure).
Travel times come from the shared ETA helper (great-circle × detour ÷ speed). Pure: no database here."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from aftersales.common.eta import DEFAULT_DETOUR, DEFAULT_SPEED_KMH, great_circle_km, travel_minutes

HANDOVER_MINUTES = 15  # the door-step sheet, photos and signature
UNPLANNED_PENALTY = 1_000_000


@dataclass(frozen=True)
class Visit:
    key: int
    lat: float
    lng: float
    earliest: int  # minutes from the day's midnight (store time)
    latest: int


@dataclass(frozen=True)
class Shift:
    key: int
    start: int
    end: int


@dataclass
class Plan:
    routes: dict[int, list[tuple[int, int]]] = field(default_factory=dict)  # driver → [(visit, arrival minute)]
    unplanned: list[int] = field(default_factory=list)
    total_minutes: int = 0


def minutes_matrix(depot: tuple[float, float], visits: list[Visit], *, detour: float = DEFAULT_DETOUR,
                   speed_kmh: float = DEFAULT_SPEED_KMH) -> np.ndarray:
    """Whole driving minutes between the store (index 0) and every door (1…n)."""
    lat = np.array([depot[0], *[v.lat for v in visits]])
    lng = np.array([depot[1], *[v.lng for v in visits]])
    km = great_circle_km(lat[:, None], lng[:, None], lat[None, :], lng[None, :])
    return np.ceil(travel_minutes(km, detour=detour, speed_kmh=speed_kmh)).astype(int)


def plan_routes(depot: tuple[float, float], visits: list[Visit], shifts: list[Shift], *, seconds: float = 2.0,
                handover: int = HANDOVER_MINUTES, detour: float = DEFAULT_DETOUR,
                speed_kmh: float = DEFAULT_SPEED_KMH) -> Plan:
    """Give each visit a driver and an arrival inside its window and the driver's shift, least driving first."""
    from ortools.constraint_solver import pywrapcp, routing_enums_pb2

    plan = Plan()
    if not visits:
        return plan
    if not shifts:
        plan.unplanned = [v.key for v in visits]
        return plan
    drive = minutes_matrix(depot, visits, detour=detour, speed_kmh=speed_kmh)
    n = len(visits) + 1
    # transit[i][j]: leave node i (after its handover and the drive back to the store when i is a door) until j's door
    back = drive[:, 0].copy()
    back[0] = 0
    service = np.full(n, handover)
    service[0] = 0
    transit = (service + back)[:, None] + drive[0][None, :]
    transit[:, 0] = service + back
    np.fill_diagonal(transit, 0)
    transit_list = transit.tolist()

    manager = pywrapcp.RoutingIndexManager(n, len(shifts), 0)
    routing = pywrapcp.RoutingModel(manager)

    def cost(i: int, j: int) -> int:
        return int(transit_list[manager.IndexToNode(i)][manager.IndexToNode(j)])

    callback = routing.RegisterTransitCallback(cost)
    routing.SetArcCostEvaluatorOfAllVehicles(callback)
    horizon = 24 * 60
    routing.AddDimension(callback, horizon, horizon, False, "time")
    time = routing.GetDimensionOrDie("time")
    for node, visit in enumerate(visits, start=1):
        index = manager.NodeToIndex(node)
        time.CumulVar(index).SetRange(max(0, visit.earliest), min(horizon, visit.latest))
        routing.AddDisjunction([index], UNPLANNED_PENALTY)
    for vehicle, shift in enumerate(shifts):
        time.CumulVar(routing.Start(vehicle)).SetRange(shift.start, shift.end)
        time.CumulVar(routing.End(vehicle)).SetRange(shift.start, shift.end)
        routing.AddVariableMinimizedByFinalizer(time.CumulVar(routing.Start(vehicle)))
        routing.AddVariableMinimizedByFinalizer(time.CumulVar(routing.End(vehicle)))
    params = pywrapcp.DefaultRoutingSearchParameters()
    params.first_solution_strategy = routing_enums_pb2.FirstSolutionStrategy.PATH_CHEAPEST_ARC
    params.local_search_metaheuristic = routing_enums_pb2.LocalSearchMetaheuristic.GUIDED_LOCAL_SEARCH
    params.time_limit.FromMilliseconds(int(seconds * 1000))
    solution = routing.SolveWithParameters(params)
    if solution is None:
        plan.unplanned = [v.key for v in visits]
        return plan
    planned: set[int] = set()
    for vehicle, shift in enumerate(shifts):
        index = solution.Value(routing.NextVar(routing.Start(vehicle)))
        stops = []
        while not routing.IsEnd(index):
            visit = visits[manager.IndexToNode(index) - 1]
            stops.append((visit.key, int(solution.Min(time.CumulVar(index)))))
            planned.add(visit.key)
            index = solution.Value(routing.NextVar(index))
        if stops:
            plan.routes[shift.key] = stops
    plan.unplanned = [v.key for v in visits if v.key not in planned]
    plan.total_minutes = int(solution.ObjectiveValue() % UNPLANNED_PENALTY)
    return plan
