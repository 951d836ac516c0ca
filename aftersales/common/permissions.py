from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _

from .errors import Forbidden
from .scoping import visible_store_ids


def require(actor: Any, perm: str) -> None:
    if actor is None or not actor.has_perm(perm):
        raise Forbidden("permission_denied", _("You do not have permission to do this."), None)


def require_store(actor: Any, store_id: int | None, field: str = "store") -> None:
    if store_id is None or store_id not in visible_store_ids(actor):
        raise Forbidden("store_not_allowed", _("You do not work at this store."), field)
