"""The import graph between the apps follows the layer order of ARCHITECTURE.md habit 7 (issue 19).

Every ``import`` / ``from … import`` in ``aftersales/`` (module level AND inside functions; tests and migrations
excepted), plus the dynamic ones (``importlib.import_module("aftersales.x…")``, billing's ``_optional("aftersales.x",
…)``, ``apps.get_model("x", …)``), is an arrow from one app to another. The test fails on:

- an app with no layer (a NEW app: give it one in ``NEW_APP_LAYERS`` below: the layer of what it imports);
- an arrow from a lower layer to a higher one that is not in ``ALLOWED_UPWARD`` (each with its reason, also listed in
  CONTRIBUTING.md "Layers"): when the lane must tell a higher app something, publish a domain event
  (``aftersales/common/events.py``, docs/events.md) instead;
- a circle between apps (two apps of the same layer importing each other, directly or round a ring).

An allowed arrow that no longer exists also fails, so that the list only ever shrinks.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent / "aftersales"

# The layer order of ARCHITECTURE.md habit 7, bottom (0) to top.
LAYERS: dict[str, int] = {
    "common": 0,
    "stores": 1, "staff": 1,
    "customers": 2, "vehicles": 2,
    "parts": 3, "messaging": 3,
    "appointments": 4,
    "workshop": 5, "estimates": 5, "inspections": 5, "billing": 5, "reception": 5,
    "engagement": 6, "loyalty": 6, "care": 6, "feedback": 6, "analytics": 6,
    "portal": 7, "web": 7,
    "demo": 8,  # the demo loader: calls every app's own demo
    "<project>": 9,  # aftersales/api.py, urls.py, cli.py, settings.py, celery.py, wsgi.py: wire everything together
}

# ---- NEW APPS: the lead extends this as apps land ------------------------------------------------------------------
# An app sits at the layer of the apps it imports (the highest of them), never below something it needs. Provisional
# entries for the apps being built in parallel (2026-12-07); correct them when they merge.
NEW_APP_LAYERS: dict[str, int] = {
    "rescue": 5,  # roadside rescue: dispatches crews, opens repair orders (lane level)
    "telematics": 5,  # vehicle data feeding the lane (lane level; a retention use goes through events)
    "mobility": 5,  # courtesy cars / pick-up and drop-off around a repair order (lane level)
    "assessments": 6,  # damage assessment: photos → findings → the repair order through estimates (above the lane)
    "people": 6,  # staff training / HR views over the lane's work (retention level)
}

# The upward arrows still left (2026-12-07: 2 app pairs, from 17: the reception greeting assembled in web/reception.py,
# the rest through providers the higher app registers in its AppConfig.ready(); 29 before the demo loader moved to
# aftersales/demo/), each with its reason; also summarised in CONTRIBUTING.md "Layers". (from app, to app): reason.
# Shrink it; never grow it without a reason.
ALLOWED_UPWARD: dict[tuple[str, str], str] = {
    ("parts", "workshop"): "parts' selectors and services read repair orders/jobs for reservations and issues to a job",
    ("billing", "loyalty"): "paying with points or a voucher is one transaction with the loyalty ledger (synchronous)",
    ("mobility", "loyalty"): "a courtesy-car voucher is offered, locked, redeemed on the booking and given back on cancel in the booking's transaction (loyalty's models and services; to move behind mobility/vouchers.py as the pickup check did)",
}

# Arrows inside one layer that close a circle between two apps, each with its reason (none left: workshop no longer
# imports billing or estimates, vehicles no longer imports customers).
ALLOWED_CIRCLE: dict[tuple[str, str], str] = {}

SKIP_DIRS = {"tests", "migrations", "locale", "templates", "static", "node_modules"}
DYNAMIC_CALLS = {"import_module", "_optional"}


def _app_of(path: Path) -> str:
    rel = path.relative_to(ROOT)
    return rel.parts[0] if len(rel.parts) > 1 else "<project>"


def _target(module: str) -> str | None:
    parts = module.split(".")
    if parts[0] != "aftersales":
        return None
    if len(parts) == 1:
        return "<project>"
    return parts[1] if (ROOT / parts[1]).is_dir() else "<project>"


def _arrows() -> dict[tuple[str, str], list[str]]:
    arrows: dict[tuple[str, str], list[str]] = defaultdict(list)
    for path in sorted(ROOT.rglob("*.py")):
        if SKIP_DIRS & set(path.relative_to(ROOT).parts[:-1]):
            continue
        source = _app_of(path)
        package = ".".join(("aftersales", *path.relative_to(ROOT).with_suffix("").parts))
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in ast.walk(tree):
            modules: list[str] = []
            if isinstance(node, ast.Import):
                modules = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                if node.level:  # relative: resolve against this module's package
                    base = package.split(".")[: -node.level] if path.name != "__init__.py" else package.split(".")[
                        : len(package.split(".")) - node.level + 1]
                    mod = ".".join([*base, node.module] if node.module else base)
                else:
                    mod = node.module or ""
                modules = [mod] + ([f"{mod}.{a.name}" for a in node.names] if mod == "aftersales" else [])
            elif isinstance(node, ast.Call):
                name = getattr(node.func, "attr", None) or getattr(node.func, "id", None)
                args = [a.value for a in node.args if isinstance(a, ast.Constant) and isinstance(a.value, str)]
                if name in DYNAMIC_CALLS and args:
                    modules = [args[0]]
                elif name == "get_model" and args and "." not in args[0] and (ROOT / args[0]).is_dir():
                    modules = [f"aftersales.{args[0]}"]
            for module in modules:
                target = _target(module)
                if target is not None and target != source:
                    arrows[(source, target)].append(f"{path.relative_to(ROOT.parent)}:{getattr(node, 'lineno', 0)}")
    return arrows


def _layer(app: str) -> int | None:
    return LAYERS.get(app, NEW_APP_LAYERS.get(app))


def test_every_app_has_a_layer():
    apps = {p.name for p in ROOT.iterdir() if p.is_dir() and (p / "__init__.py").exists()}
    missing = sorted(a for a in apps if _layer(a) is None)
    assert not missing, (
        f"app(s) {missing} have no layer: add each to NEW_APP_LAYERS in tests/test_layers.py at the layer of the "
        "apps it imports (0 common, 1 stores/staff, 2 customers/vehicles, 3 parts/messaging, 4 appointments, "
        "5 workshop and the lane, 6 engagement/loyalty/care/feedback/analytics, 7 portal/web)"
    )


def test_no_new_upward_import():
    arrows = _arrows()
    upward = {pair: where for pair, where in arrows.items()
              if _layer(pair[0]) is not None and _layer(pair[1]) is not None and _layer(pair[1]) > _layer(pair[0])}
    new = {f"{a} → {b}": where[:3] for (a, b), where in upward.items() if (a, b) not in ALLOWED_UPWARD}
    assert not new, (
        f"lower app imports a higher one (ARCHITECTURE habit 7): {new}. Publish a domain event instead "
        "(aftersales/common/events.py, docs/events.md), or move the shared helper down into common."
    )
    gone = sorted(f"{a} → {b}" for (a, b) in ALLOWED_UPWARD if (a, b) not in upward)
    assert not gone, f"these allowed upward imports are gone: delete them from ALLOWED_UPWARD and CONTRIBUTING.md: {gone}"


def test_no_import_circle_between_apps():
    graph: dict[str, set[str]] = defaultdict(set)
    for a, b in _arrows():
        if (a, b) not in ALLOWED_UPWARD and (a, b) not in ALLOWED_CIRCLE:
            graph[a].add(b)
    # Tarjan's strongly connected components: any component of two or more apps is a circle.
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    circles: list[list[str]] = []
    counter = [0]

    def visit(v: str) -> None:
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                circles.append(sorted(component))

    for node in list(graph):
        if node not in index:
            visit(node)
    arrows = _arrows()
    detail = {" ↔ ".join(c): {f"{a} → {b}": arrows[(a, b)][:2] for a in c for b in c if (a, b) in arrows} for c in circles}
    assert not circles, f"import circles between apps: {detail}"
