"""Demo helpers of the vehicles app (used by the demo loader, aftersales/demo/loader.py, and other apps' demos)."""

from __future__ import annotations

import random

from aftersales.common.validators import VIN_ALPHABET, normalize_vin, vin_check_digit

VIN_YEAR = {2018: "J", 2019: "K", 2020: "L", 2021: "M", 2022: "N", 2023: "P", 2024: "R", 2025: "S", 2026: "T"}


def make_demo_vin(rng: random.Random, wmi: str, vds: str, year: int, plant: str) -> str:
    """A valid VIN (check digit included) for a demo car."""
    serial = f"{rng.randrange(1_000_000):06d}"
    body = f"{wmi}{vds}0{VIN_YEAR.get(year, 'S')}{plant}{serial}"
    assert len(body) == 17 and all(ch in VIN_ALPHABET for ch in body), body
    vin = body[:8] + vin_check_digit(body) + body[9:]
    return normalize_vin(vin)
