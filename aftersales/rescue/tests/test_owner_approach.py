"""The owner sees the unit approach (issue 20): on the owner's rescue page, the unit's last position for this case
as a drawing relative to the car (inline SVG, no map service) with AMap (GCJ-02) and Baidu (BD-09) links, refreshed
by the page's polling; only while the unit is on its way, never before its first position nor after arrival."""

from __future__ import annotations

import re

import pytest

from aftersales.common.tests.factories import CustomerFactory
from aftersales.portal.tests.conftest import sign_in
from aftersales.rescue import selectors, services
from aftersales.rescue.maps import to_bd, to_gcj

from .conftest import CAR

pytestmark = pytest.mark.django_db

ON_THE_WAY = (22.570000, 114.060000)


def _page(client, case, live=False):
    if live:
        return client.get(f"/app/rescue/{case.pk}/?part=live", HTTP_HX_REQUEST="true")
    return client.get(f"/app/rescue/{case.pk}/")


def test_the_owner_sees_the_unit_approach_only_while_it_is_on_its_way(rescue, client):
    r = rescue
    case = services.case_create(actor=r.dispatcher, store=r.store, incident="accident", lat=CAR[0], lng=CAR[1], vehicle=r.vehicle)
    case = services.case_dispatch(actor=r.dispatcher, case=case, unit=r.tow)
    sign_in(client, r.customer)
    body = _page(client, case).content.decode()
    assert 'data-testid="approach"' not in body  # no position posted for this case yet (the unit's old one is not shown)
    assert str(r.tow.lat) not in body
    case = services.case_crew_accept(actor=r.crew, case=case)
    services.position_post(actor=r.crew, case=case, lat=22.55, lng=114.058)
    services.position_post(actor=r.crew, case=case, lat=ON_THE_WAY[0], lng=ON_THE_WAY[1])
    for response in (_page(client, case), _page(client, case, live=True)):
        assert response.status_code == 200
        body = response.content.decode()
        assert 'data-testid="approach"' in body and "<svg" in body and " style=" not in body
        gcj, bd = to_gcj(*ON_THE_WAY), to_bd(*ON_THE_WAY)
        assert f"position={gcj[1]},{gcj[0]}" in body  # AMap: GCJ-02, lng first
        assert f"location={bd[0]},{bd[1]}" in body  # Baidu: BD-09
        unit_x, unit_y = map(float, re.search(r'cx="([\d.]+)" cy="([\d.]+)" r="8"', body).groups())
        assert unit_x < 100 and unit_y > 100  # the unit is south-west of the car: left of and below the centre
    approach = selectors.owner_approach(case)
    assert approach is not None and 2.5 < approach["km"] < 3.5
    # on scene: the crew is with the owner; the unit's position is no longer shown, nor ever after
    case = services.case_on_scene(actor=r.crew, case=case)
    for response in (_page(client, case), _page(client, case, live=True)):
        body = response.content.decode()
        assert 'data-testid="approach"' not in body and str(gcj[0]) not in body
    case = services.case_finish_on_site(actor=r.crew, case=case, work_done="", tow=True)
    assert selectors.owner_approach(case) is None
    assert 'data-testid="approach"' not in _page(client, case).content.decode()


def test_a_cancelled_case_shows_no_position_and_another_owner_gets_404(rescue, client):
    r = rescue
    case = services.case_create(actor=r.dispatcher, store=r.store, incident="accident", lat=CAR[0], lng=CAR[1], vehicle=r.vehicle)
    case = services.case_dispatch(actor=r.dispatcher, case=case, unit=r.tow)
    case = services.case_crew_accept(actor=r.crew, case=case)
    services.position_post(actor=r.crew, case=case, lat=ON_THE_WAY[0], lng=ON_THE_WAY[1])
    stranger = CustomerFactory(home_store=r.store, name="李娜")
    sign_in(client, stranger)
    assert _page(client, case).status_code == 404
    assert _page(client, case, live=True).status_code == 404
    client.logout()
    sign_in(client, r.customer)
    assert 'data-testid="approach"' in _page(client, case).content.decode()
    services.case_cancel(actor=r.dispatcher, case=case, reason="车主自行解决")
    body = _page(client, case).content.decode()
    assert 'data-testid="approach"' not in body and str(to_gcj(*ON_THE_WAY)[0]) not in body
