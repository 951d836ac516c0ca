"""Proposers: what suggests damage findings for the assessor to review (SPEC §15: "assisted by a model where one is
available and always reviewed by the assessor").

A proposer gets the assessment's photos and whatever else is known (the damage marked at reception) and returns
findings: panel, damage type, severity, outline, confidence, with its name and version. It never decides: every
finding it returns waits for the assessor's accept / change / reject, and the differences are kept.

Implementations:
- ``none``: no suggestions; the assessor taps the panels on the car diagram (the product is fully useful so).
- ``marks``: rules, not a model: the damage pins on the reception handover's outline mapped to panels. Labelled as
  such wherever shown.
- ``onnx``: an image model file the dealer or a vendor supplies, run on the CPU with onnxruntime (optional
  dependency, ``pip install onnxruntime``). Contract: input ``image`` float32 [1, 3, H, W] (RGB, 0–1), output
  float32 [1, len(Panel), len(DamageType)] probabilities in the order of ``choices.Panel`` and ``choices.DamageType``;
  a score of 0.5 or more is a finding (severity by the score). Optionally a second output float32
  [1, len(Panel), len(DamageType), K, 2]: the finding's outline as a polygon of K points (x, y as fractions of the
  photo).
- ``http``: a vendor service: POST JSON ``{"photos": [{"id", "angle", "jpeg_base64"}]}``, answer
  ``{"model", "version", "findings": [{"panel", "damage_type", "severity", "confidence", "outline", "photo"}]}``,
  ``outline`` a polygon ``[[x, y], …]`` (3–64 points, fractions of the photo; a rectangle is its 4 corners).
Outlines are checked (``outlines.polygon_problem``); one out of contract is left off its finding.
No package ships car-damage weights that run offline, so none is bundled.
"""

from __future__ import annotations

import base64
import io
import json
import urllib.request
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Protocol

from .choices import DamageType, Panel, ProposerKind, Severity
from .outlines import polygon_problem


class ProposerError(Exception):
    """The proposer could not run (no model file, the service down, an answer out of contract)."""


@dataclass(frozen=True)
class PhotoIn:
    id: int
    angle: str
    content: bytes


@dataclass(frozen=True)
class MarkIn:
    x: float  # % of the outline's width, the car's front to the right
    y: float  # % of its height, the car's left side at the top
    kind: str  # reception.choices.DamageKind


@dataclass
class ProposerInput:
    photos: list[PhotoIn] = field(default_factory=list)
    marks: list[MarkIn] = field(default_factory=list)


@dataclass(frozen=True)
class ProposedFinding:
    panel: str
    damage_type: str
    severity: str
    confidence: Decimal | None = None
    outline: list[list[float]] = field(default_factory=list)
    photo_id: int | None = None


@dataclass
class Proposal:
    name: str
    version: str
    findings: list[ProposedFinding]


class Proposer(Protocol):
    name: str
    version: str

    def propose(self, data: ProposerInput) -> Proposal: ...


# ---- none ---------------------------------------------------------------------------------------------------------
class NoProposer:
    name = "none"
    version = ""

    def propose(self, data: ProposerInput) -> Proposal:
        return Proposal(self.name, self.version, [])


# ---- marks (rules) ------------------------------------------------------------------------------------------------
MARK_KIND = {  # reception's damage kinds → (damage type, severity)
    "scratch": (DamageType.SCRATCH, Severity.LIGHT),
    "chip": (DamageType.SCRATCH, Severity.LIGHT),
    "dent": (DamageType.DENT, Severity.MODERATE),
    "crack": (DamageType.CRACK, Severity.MODERATE),
    "rust": (DamageType.SCRATCH, Severity.MODERATE),
    "missing": (DamageType.MISSING, Severity.SEVERE),
    "other": (DamageType.DEFORMED, Severity.MODERATE),
}


def panel_at(x: float, y: float) -> str:
    """The panel under a point of the reception outline (viewBox 200×100, body 12–188 × 12–88, front to the right,
    the car's left side at the top; the cabin 60–132 × 22–78)."""
    side_left = y < 50
    middle = 22 <= y <= 78
    px = x * 2  # % → outline units
    if px >= 176:
        if not middle:
            return Panel.HEADLAMP_LEFT if side_left else Panel.HEADLAMP_RIGHT
        return Panel.FRONT_BUMPER
    if px >= 148:
        return Panel.BONNET if middle else (Panel.WING_FRONT_LEFT if side_left else Panel.WING_FRONT_RIGHT)
    if px >= 132:
        return Panel.WINDSCREEN if middle else (Panel.DOOR_FRONT_LEFT if side_left else Panel.DOOR_FRONT_RIGHT)
    if px >= 60:
        if middle:
            return Panel.ROOF
        if px >= 96:
            return Panel.DOOR_FRONT_LEFT if side_left else Panel.DOOR_FRONT_RIGHT
        return Panel.DOOR_REAR_LEFT if side_left else Panel.DOOR_REAR_RIGHT
    if px >= 44:
        return Panel.REAR_WINDOW if middle else (Panel.QUARTER_LEFT if side_left else Panel.QUARTER_RIGHT)
    if px >= 24:
        return Panel.BOOT_LID if middle else (Panel.QUARTER_LEFT if side_left else Panel.QUARTER_RIGHT)
    if not middle:
        return Panel.TAILLAMP_LEFT if side_left else Panel.TAILLAMP_RIGHT
    return Panel.REAR_BUMPER


class MarksProposer:
    """Rules, not a model: one finding per panel from the damage pins on the reception outline (the worst wins)."""

    name = "marks-rules"
    version = "1"
    ORDER = [Severity.LIGHT, Severity.MODERATE, Severity.SEVERE]

    def propose(self, data: ProposerInput) -> Proposal:
        by_panel: dict[str, ProposedFinding] = {}
        for mark in data.marks:
            damage, severity = MARK_KIND.get(mark.kind, (DamageType.DEFORMED, Severity.MODERATE))
            panel = panel_at(mark.x, mark.y)
            seen = by_panel.get(panel)
            if seen is not None and self.ORDER.index(seen.severity) >= self.ORDER.index(severity):
                continue
            by_panel[panel] = ProposedFinding(panel=panel, damage_type=damage, severity=severity)
        return Proposal(self.name, self.version, list(by_panel.values()))


# ---- ONNX ---------------------------------------------------------------------------------------------------------
def _severity(score: float) -> str:
    return Severity.SEVERE if score >= 0.85 else Severity.MODERATE if score >= 0.7 else Severity.LIGHT


class OnnxProposer:
    """A model file on this server, run on the CPU (onnxruntime). The model's metadata names it (producer, version)."""

    THRESHOLD = 0.5

    def __init__(self, path: str) -> None:
        try:
            import onnxruntime  # type: ignore[import-not-found,import-untyped,unused-ignore]
        except ImportError as exc:
            raise ProposerError("onnxruntime is not installed") from exc
        try:
            self.session = onnxruntime.InferenceSession(path, providers=["CPUExecutionProvider"])
        except Exception as exc:
            raise ProposerError(f"cannot load the model: {exc}") from exc
        meta = self.session.get_modelmeta()
        self.name = (meta.graph_name or meta.producer_name or "onnx")[:60]
        self.version = str(meta.version or meta.custom_metadata_map.get("version", ""))[:40]
        shape = self.session.get_inputs()[0].shape
        self.size = (shape[2] if isinstance(shape[2], int) else 224, shape[3] if isinstance(shape[3], int) else 224)

    def _tensor(self, content: bytes) -> Any:
        import numpy as np
        from PIL import Image

        image = Image.open(io.BytesIO(content)).convert("RGB").resize((self.size[1], self.size[0]))
        array = np.asarray(image, dtype=np.float32) / 255.0
        return array.transpose(2, 0, 1)[None, ...]

    def propose(self, data: ProposerInput) -> Proposal:
        panels, damages = Panel.values, DamageType.values
        best: dict[tuple[str, str], ProposedFinding] = {}
        input_name = self.session.get_inputs()[0].name
        for photo in data.photos:
            try:
                outputs = self.session.run(None, {input_name: self._tensor(photo.content)})
            except Exception as exc:
                raise ProposerError(f"the model failed: {exc}") from exc
            scores = outputs[0]
            if tuple(scores.shape) != (1, len(panels), len(damages)):
                raise ProposerError(f"the model's output {tuple(scores.shape)} is not [1, {len(panels)}, {len(damages)}]")
            # an optional second output: a polygon per panel and damage, [1, panels, damages, K points, 2] as fractions
            # of the photo (a model that outlines nothing has no second output; a malformed one is not used)
            shapes = outputs[1] if len(outputs) > 1 else None
            if shapes is not None and (len(shapes.shape) != 5 or tuple(shapes.shape[:3]) != (1, len(panels), len(damages))
                                       or shapes.shape[4] != 2):
                shapes = None
            for p, panel in enumerate(panels):
                for d, damage in enumerate(damages):
                    score = float(scores[0, p, d])
                    if score < self.THRESHOLD:
                        continue
                    seen = best.get((panel, damage))
                    if seen is None or (seen.confidence or 0) < score:
                        outline = polygon_problem(shapes[0, p, d].tolist())[0] if shapes is not None else None
                        best[(panel, damage)] = ProposedFinding(
                            panel=panel, damage_type=damage, severity=_severity(score),
                            confidence=Decimal(str(round(score, 3))), photo_id=photo.id, outline=outline or [])
        return Proposal(self.name, self.version, list(best.values()))


# ---- HTTP ---------------------------------------------------------------------------------------------------------
class HttpProposer:
    """A vendor's service over HTTPS (JSON in and out, see the module's text)."""

    name = "http"
    version = ""

    def __init__(self, url: str, timeout: float = 20.0) -> None:
        if not url.startswith(("https://", "http://")):
            raise ProposerError("the service address is not http(s)")
        self.url, self.timeout = url, timeout

    def propose(self, data: ProposerInput) -> Proposal:
        body = json.dumps({"photos": [{"id": p.id, "angle": p.angle, "jpeg_base64": base64.b64encode(p.content).decode()}
                                      for p in data.photos]}).encode()
        request = urllib.request.Request(  # noqa: S310 (http(s) only: checked in __init__)
            self.url, data=body, headers={"Content-Type": "application/json"}, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310 (scheme checked)
                answer = json.loads(response.read().decode())
        except (OSError, ValueError) as exc:
            raise ProposerError(f"the service did not answer: {exc}") from exc
        photo_ids = {p.id for p in data.photos}
        findings = []
        try:
            for row in answer.get("findings", []):
                if row["panel"] not in Panel.values or row["damage_type"] not in DamageType.values:
                    raise ProposerError("the service named an unknown panel or damage")
                severity = row.get("severity") or Severity.MODERATE
                if severity not in Severity.values:
                    raise ProposerError("the service named an unknown severity")
                confidence = row.get("confidence")
                # a polygon as fractions of the photo ([[x, y], …], 3–64 points); one out of contract is left off the
                # finding (the finding itself stays: the assessor decides it anyway)
                outline, _why = polygon_problem(row.get("outline")) if row.get("outline") else ([], "")
                findings.append(ProposedFinding(
                    panel=row["panel"], damage_type=row["damage_type"], severity=severity,
                    confidence=None if confidence is None else Decimal(str(round(float(confidence), 3))),
                    outline=outline or [],
                    photo_id=row.get("photo") if row.get("photo") in photo_ids else None,
                ))
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise ProposerError(f"the service's answer is out of contract: {exc}") from exc
        return Proposal(str(answer.get("model") or self.name)[:60], str(answer.get("version") or "")[:40], findings)


def proposer_for(kind: str, *, model_path: str = "", service_url: str = "") -> Proposer:
    if kind == ProposerKind.MARKS:
        return MarksProposer()
    if kind == ProposerKind.ONNX:
        return OnnxProposer(model_path)
    if kind == ProposerKind.HTTP:
        return HttpProposer(service_url)
    return NoProposer()
