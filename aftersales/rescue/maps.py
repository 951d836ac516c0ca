"""Positions for Chinese maps. We store WGS-84 (what phones' GPS gives); Chinese map apps draw GCJ-02 (AMap / Gaode,
Tencent) or BD-09 (Baidu), a few hundred metres off WGS-84 inside China. ``prcoords`` (CC0, public domain) converts;
outside mainland China the points are left as they are (the library's own test). The links open the point in the
map app on a phone (its own navigation), without any online map service of ours."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from urllib.parse import quote

import prcoords

Q6 = Decimal("0.000001")


@dataclass(frozen=True)
class MapPoint:
    wgs: tuple[Decimal, Decimal]
    gcj: tuple[Decimal, Decimal]
    bd: tuple[Decimal, Decimal]
    amap_url: str
    amap_navigate_url: str
    baidu_url: str
    geo_url: str


def _q(lat: float, lng: float) -> tuple[Decimal, Decimal]:
    return Decimal(str(lat)).quantize(Q6), Decimal(str(lng)).quantize(Q6)


def to_gcj(lat: Any, lng: Any) -> tuple[Decimal, Decimal]:
    point = prcoords.Coords(float(lat), float(lng))
    if not prcoords.sanity_in_china_p(point):
        return _q(float(lat), float(lng))
    gcj = prcoords.wgs_gcj(point)
    return _q(gcj.lat, gcj.lon)


def to_bd(lat: Any, lng: Any) -> tuple[Decimal, Decimal]:
    point = prcoords.Coords(float(lat), float(lng))
    if not prcoords.sanity_in_china_p(point):
        return _q(float(lat), float(lng))
    bd = prcoords.wgs_bd(point)
    return _q(bd.lat, bd.lon)


def map_point(lat: Any, lng: Any, name: str = "") -> MapPoint | None:
    """The point in the three systems with links for AMap, Baidu Maps and any map app (geo:, WGS-84)."""
    if lat is None or lng is None:
        return None
    wgs = _q(float(lat), float(lng))
    gcj, bd = to_gcj(lat, lng), to_bd(lat, lng)
    label = quote(name or "", safe="")
    return MapPoint(
        wgs=wgs, gcj=gcj, bd=bd,
        amap_url=f"https://uri.amap.com/marker?position={gcj[1]},{gcj[0]}&name={label}&coordinate=gaode&callnative=1",
        amap_navigate_url=f"https://uri.amap.com/navigation?to={gcj[1]},{gcj[0]},{label}&mode=car&coordinate=gaode&callnative=1",
        baidu_url=(f"https://api.map.baidu.com/marker?location={bd[0]},{bd[1]}&title={label}&content={label}"
                   "&output=html&coord_type=bd09ll&src=aftersales"),
        geo_url=f"geo:{wgs[0]},{wgs[1]}?q={wgs[0]},{wgs[1]}",
    )
