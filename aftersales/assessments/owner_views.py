"""The owner's pages behind the signed link (no login, phone-sized, in the owner's language): the assessment with
its photos and outlines, the insurer's part and the owner's share to approve or decline, the report PDF, and the
guided photo capture (the 8 angles in order, then close-ups) while the assessment is open."""

from __future__ import annotations

import mimetypes
from typing import Any

from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import translation
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from aftersales.common.errors import DomainError
from aftersales.common.throttle import client_ip

from . import services
from .choices import STANDARD_ANGLES, Angle, AssessmentStatus, FindingSource
from .models import Assessment
from .report import assessment_pdf, report_language
from .selectors import with_boxes


def _assessment(token: str) -> Assessment:
    a = services.assessment_from_token(token)
    if a is None:
        raise Http404
    return a


def _errors(exc: DomainError) -> dict[str, str]:
    return services.error_fields(exc)


def _context(a: Assessment, token: str, language: str) -> dict[str, Any]:
    photos = with_boxes(list(a.photos.all().order_by("id")))
    return {
        "a": a, "token": token, "language": language, "photos": photos,
        "findings": list(a.findings.filter(source=FindingSource.ASSESSOR).order_by("id")),
        "ready": a.status == AssessmentStatus.APPROVED and a.order_id is not None,
        "decided": bool(a.share_decision) and a.share_amount == a.owner_part,
        "changed": bool(a.share_decision) and a.share_amount != a.owner_part,
        "open": a.status == AssessmentStatus.DRAFT,
        "taken": len({p.angle for p in photos if p.angle != Angle.CLOSE_UP}), "standard": len(STANDARD_ANGLES),
    }


@require_http_methods(["GET", "POST"])
def page(request: HttpRequest, token: str) -> HttpResponse:
    a = _assessment(token)
    language = report_language(a, request.POST.get("lang") or request.GET.get("lang"))
    with translation.override(language):
        errors: dict[str, str] = {}
        if request.method == "POST":
            try:
                services.share_decide(assessment=a, decision=request.POST.get("decision"),
                                      signer_name=request.POST.get("signer_name"), agree=bool(request.POST.get("agree")),
                                      ip=client_ip(request))
            except DomainError as exc:
                errors = _errors(exc)
                ctx = _context(a, token, language)
                return render(request, "assessments/owner.html", {**ctx, "errors": errors, "post": request.POST}, status=422)
            return redirect(f"{request.path}?lang={language}")
        return render(request, "assessments/owner.html", {**_context(a, token, language), "errors": errors, "post": {}})


def report(request: HttpRequest, token: str) -> HttpResponse:
    a = _assessment(token)
    language = report_language(a, request.GET.get("lang"))
    response = HttpResponse(assessment_pdf(a, language), content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="{a.number}.pdf"'
    return response


def photo(request: HttpRequest, token: str, photo_id: int) -> FileResponse:
    a = _assessment(token)
    found = a.photos.filter(pk=photo_id).first()
    if found is None:
        raise Http404
    content_type = mimetypes.guess_type(found.image.name)[0] or "image/jpeg"
    return FileResponse(found.image.open("rb"), content_type=content_type)


@require_http_methods(["GET", "POST"])
def capture(request: HttpRequest, token: str) -> HttpResponse:
    """Guided capture at 390 px: the next angle to shoot first, the progress, then close-ups."""
    a = _assessment(token)
    language = report_language(a, request.POST.get("lang") or request.GET.get("lang"))
    with translation.override(language):
        error = ""
        if request.method == "POST":
            upload = request.FILES.get("photo")
            try:
                if upload is None:
                    error = _("Take or choose a photo.")
                else:
                    services.owner_photo_add(assessment=a, content=upload.read(), angle=request.POST.get("angle"))
                    return redirect(f"{request.path}?lang={language}")
            except DomainError as exc:
                error = "; ".join(dict.fromkeys(_errors(exc).values()))
        photos = list(a.photos.all().order_by("id"))
        taken = {p.angle for p in photos}
        angles = [(code, Angle(code).label, code in taken) for code in STANDARD_ANGLES]
        following = next((code for code, _label, done in angles if not done), "")
        return render(request, "assessments/owner_capture.html", {
            "a": a, "token": token, "language": language, "angles": angles, "next": following,
            "next_label": Angle(following).label if following else "", "done": sum(1 for *_x, d in angles if d),
            "standard": len(STANDARD_ANGLES), "closeups": sum(1 for p in photos if p.angle == Angle.CLOSE_UP),
            "open": a.status == AssessmentStatus.DRAFT, "error": error,
        }, status=422 if error else 200)
