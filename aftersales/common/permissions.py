from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator
from contextvars import ContextVar
from typing import Any

from django.utils.translation import gettext as _

from .errors import Forbidden
from .scoping import visible_store_ids

#: permissions lent to one user for one block (``granted``): (user id, permissions)
_LENT: ContextVar[tuple[Any, frozenset[str]] | None] = ContextVar("aftersales_lent_permissions", default=None)


@contextlib.contextmanager
def granted(actor: Any, perms: Iterable[str]) -> Iterator[None]:
    """Lend ``actor`` these permissions inside the block only, for ``require``: a higher app that has itself checked
    the actor's right to one object (a pickup driver and the handover sheet of their own trip) calls a lower app's
    services, which check their own permission. The role keeps none of them, so the lower app's pages stay closed."""
    token = _LENT.set((getattr(actor, "pk", None), frozenset(perms)))
    try:
        yield
    finally:
        _LENT.reset(token)


def require(actor: Any, perm: str) -> None:
    lent = _LENT.get()
    if actor is not None and lent is not None and lent[0] is not None and lent[0] == getattr(actor, "pk", None) \
            and perm in lent[1]:
        return
    if actor is None or not actor.has_perm(perm):
        raise Forbidden("permission_denied", _("You do not have permission to do this."), None)


def require_store(actor: Any, store_id: int | None, field: str = "store") -> None:
    if store_id is None or store_id not in visible_store_ids(actor):
        raise Forbidden("store_not_allowed", _("You do not work at this store."), field)
