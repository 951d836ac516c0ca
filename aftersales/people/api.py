"""People API (SPEC §20): certificates (list the store's, record one with its scan, withdraw one) and the caller's
own certificates."""

from __future__ import annotations

import datetime as dt
from typing import Any

from ninja import File, Form, Router, Schema, Status
from ninja.files import UploadedFile

from aftersales.common.api_schemas import ERRORS, request_user
from aftersales.common.permissions import require
from aftersales.common.scoping import default_store
from aftersales.staff.selectors import staff_get

from . import selectors, services

router = Router(tags=["people"])


class CertificationOut(Schema):
    id: int
    holder_id: int
    holder: str
    kind: str
    issuer: str
    level: str
    number: str
    valid_from: dt.date
    valid_until: dt.date
    status: str
    days_left: int | None
    has_scan: bool


def _out(row: selectors.CertificateRow) -> dict[str, Any]:
    c = row.certification
    return {
        "id": c.pk, "holder_id": c.user_id, "holder": str(c.user), "kind": c.kind, "issuer": c.issuer, "level": c.level,
        "number": c.number, "valid_from": c.valid_from, "valid_until": c.valid_until, "status": row.status,
        "days_left": row.days_left, "has_scan": bool(c.scan),
    }


@router.get("/certifications", response={200: list[CertificationOut], **ERRORS})
def list_certifications(request: Any, store_id: int | None = None) -> Any:
    """The certificates of the staff of a store (default: the caller's), with their status today."""
    user = request_user(request)
    require(user, "staff.view_certification")
    store = default_store(user, store_id)
    return [_out(r) for r in selectors.certificate_rows(user, store)]


class CertificationIn(Schema):
    holder_id: int
    kind: str
    issuer: str
    number: str
    valid_from: str
    valid_until: str
    level: str = ""


@router.post("/certifications", response={201: CertificationOut, **ERRORS})
def record_certification(request: Any, payload: Form[CertificationIn], scan: File[UploadedFile] | None = None) -> Any:
    """Record a certificate (multipart form; ``scan`` an optional photo or scan of it)."""
    user = request_user(request)
    require(user, "staff.add_certification")
    holder = staff_get(user, payload.holder_id)
    scan = scan or request.FILES.get("scan")  # ninja leaves an optional file beside a form schema unset
    cert = services.certification_record(
        actor=user, holder=holder, kind=payload.kind, issuer=payload.issuer, number=payload.number,
        valid_from=payload.valid_from, valid_until=payload.valid_until, level=payload.level,
        scan=scan.read() if scan is not None else None,
    )
    return Status(201, _out(selectors.certificate_row(cert, selectors.local_today(default_store(user)))))


class WithdrawIn(Schema):
    reason: str


@router.post("/certifications/{certification_id}/withdraw", response={200: CertificationOut, **ERRORS})
def withdraw_certification(request: Any, certification_id: int, payload: WithdrawIn) -> Any:
    user = request_user(request)
    require(user, "staff.change_certification")
    cert = selectors.certification_get(user, certification_id)
    cert = services.certification_withdraw(actor=user, certification=cert, reason=payload.reason)
    return _out(selectors.certificate_row(cert, selectors.local_today(default_store(user))))


@router.get("/me/certifications", response={200: list[CertificationOut], **ERRORS})
def my_certifications(request: Any) -> Any:
    """The caller's own certificates."""
    user = request_user(request)
    return [_out(r) for r in selectors.my_certificate_rows(user)]
