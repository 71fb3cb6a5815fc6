"""PRIV-02/03/04: phones and room numbers are masked in every view; PII pages are not cached.

A crawler logs in as each kind of person and visits every GET route of the route inventory
(tests/web/test_route_inventory.py ROUTES, so a new route is crawled as soon as it is
classified), with its filters and pickers, as a page and as an htmx fragment, the JSON API
included. A plain resident and a street official must never receive another person's full
phone number or another member's full address; the chair sees both (positive control).
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from html.parser import HTMLParser
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi import FastAPI
from sqlmodel import select

from app.accounts.models import User
from app.audit.models import AuditEvent
from app.core.privacy import mask_phone, mask_room
from app.db import Database
from app.halls import queries, schemas, service
from app.halls.models import Entrance, Household, Membership
from app.meetings import service as meeting_service
from app.meetings.rules import MeetingKind
from app.voting import schemas as vote_schemas
from app.voting import service as vote_service
from app.voting.rules import RuleKind
from tests import live_helpers as lh
from tests import meeting_helpers as mh
from tests.conftest import ORIGIN, Client
from tests.factories import (
    PASSWORD,
    HallWorld,
    make_chair,
    make_hall,
    make_member,
    make_user,
    unique_phone,
)
from tests.web import issue_helpers as ih
from tests.web import voting_helpers as vh
from tests.web.test_route_inventory import (
    CRAWL_ENDED,
    CRAWL_FINISHED,
    EXTRA_QUERIES,
    ROUTES,
    STATIC_SAMPLE,
)

# A full mainland mobile number, not part of a longer token (hex, base64) around it.
PHONE_RE = re.compile(r"(?<![0-9A-Za-z])1[3-9]\d{9}(?![0-9A-Za-z])")
# Documented examples (the phone_invalid hint, the roster template), not anyone's number.
EXAMPLE_PHONES = frozenset({"13812345678", "13800001234"})
TAG_RE = re.compile(r"<[^>]+>")


@dataclass(frozen=True)
class Person:
    name: str
    phone: str
    # (楼栋, 单元, 房号) of their household, if they named one
    address: tuple[str, str, str] | None


@dataclass
class World:
    db: Database
    hall: HallWorld
    other_hall: HallWorld
    people: dict[str, Person]
    clients: dict[str, Client]
    target_membership: int
    building_id: int
    entrance_id: int
    issue_params: dict[str, int]

    @property
    def hall_id(self) -> int:
        return self.hall.hall.id or 0

    def invite_token(self) -> str:
        with self.db.session(read_only=True) as session:
            hall = session.get(type(self.hall.hall), self.hall_id)
            assert hall is not None
            return hall.invite_token


def _address(db: Database, household: Household) -> tuple[str, str, str]:
    with db.session(read_only=True) as session:
        found = queries.household_address(
            session, hall_id=household.hall_id, household_id=household.id or 0
        )
    assert found is not None
    return found.building, found.entrance, found.room


def _client(app: FastAPI, user: User | None = None) -> Client:
    client = Client(app, base_url=ORIGIN, headers={"Origin": ORIGIN})
    client.__enter__()
    if user is not None:
        assert user.phone
        client.login(user.phone, PASSWORD)
    return client


@pytest.fixture(scope="module")
def world(app: FastAPI, db: Database) -> Iterator[World]:
    hall = make_hall(db)
    other = make_hall(db)
    chair = make_chair(db, hall, name="钱主任")
    resident, _ = make_member(db, hall, household_index=0, chair=chair, name="孙居民")
    neighbour, neighbour_m = make_member(db, hall, household_index=5, chair=chair, name="李邻居")
    pending, _ = make_member(db, hall, household_index=6, verified=False, name="周申请")
    rejected, rejected_m = make_member(db, hall, household_index=9, verified=False, name="吴退回")
    with db.session() as session:
        access = queries.hall_access(session, user=chair, hall=hall.hall)
        service.reject_member(
            session=session,
            access=access,
            actor=chair,
            membership_id=rejected_m.id or 0,
            form=schemas.RejectForm(reason="房号不符"),
        )
    stranger, _ = make_member(db, other, household_index=14, name="郑外厅")
    street = make_user(db, name="冯街道")
    with db.session() as session:
        service.add_street_admin(
            session=session, street=hall.street, user=street, actor_id=hall.admin.id
        )
        entrance = session.get(Entrance, hall.households[7].entrance_id)
        assert entrance is not None
        building_id, entrance_id = entrance.building_id, entrance.id or 0

    clients = {"chair": _client(app, chair)}
    # 代录 with a phone, through the page, and a roster row with a phone, through the upload.
    entered_phone = unique_phone()
    response = clients["chair"].post_form(
        f"/halls/{hall.hall.id}/members/new",
        {
            "name": "陈代录",
            "phone": entered_phone,
            "household_id": hall.households[7].id,
            "relation": "owner",
            "building_id": building_id,
            "entrance_id": entrance_id,
        },
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text[:500]  # type: ignore[attr-defined]
    roster_phone = unique_phone()
    table = io.StringIO()
    csv.writer(table).writerows(
        [
            ["楼栋", "单元", "房号", "面积", "姓名", "电话", "身份"],
            ["7号楼", "3单元", "1702", "95.50", "罗名册", roster_phone, "业主"],
        ]
    )
    response = clients["chair"].post(
        f"/halls/{hall.hall.id}/roster",
        data={"csrf_token": clients["chair"].csrf("/")},
        files={"file": ("roster.csv", table.getvalue().encode(), "text/csv")},
    )
    assert response.status_code == 200, response.text[:1000]
    token = re.search(r'name="token" value="([^"]+)"', response.text)
    assert token, response.text[:1000]
    response = clients["chair"].post(
        f"/halls/{hall.hall.id}/roster/confirm",
        data={"csrf_token": clients["chair"].csrf("/"), "token": token.group(1)},
    )
    assert response.status_code == 200, response.text[:1000]

    people = {
        "chair": Person(chair.name, chair.phone or "", None),
        "resident": Person(resident.name, resident.phone or "", _address(db, hall.households[0])),
        "neighbour": Person(
            neighbour.name, neighbour.phone or "", _address(db, hall.households[5])
        ),
        "pending": Person(pending.name, pending.phone or "", _address(db, hall.households[6])),
        "rejected": Person(rejected.name, rejected.phone or "", _address(db, hall.households[9])),
        "entered": Person("陈代录", entered_phone, _address(db, hall.households[7])),
        "roster": Person("罗名册", roster_phone, ("7号楼", "3单元", "1702")),
        "stranger": Person(stranger.name, stranger.phone or "", _address(db, other.households[0])),
        "street": Person(street.name, street.phone or "", None),
    }
    clients.update(
        {
            "resident": _client(app, resident),
            "street": _client(app, street),
            "stranger": _client(app, stranger),
            "anon": _client(app),
        }
    )
    # An issue by the neighbour, with a photo, co-signed and discussed by the resident.
    issue = ih.propose(db, hall, neighbour, title="电动车乱停", uploads=(ih.jpeg_with_exif(),))
    ih.cosign(db, hall, resident, issue.id or 0)
    talked = ih.deliberating(db, hall, chair, title="楼道堆物")
    said = ih.comment(db, hall, neighbour, talked.id or 0, body="我家门口也堆了")
    ih.comment(db, hall, resident, talked.id or 0, body="同意", parent_id=said.id)
    ih.solution(db, hall, resident, talked.id or 0)
    # 民决: a household ballot with the resident as 计票人, the neighbour's phone vote, an
    # in-person vote, printed paper ballots and a reading; a finished ballot; a 公示 with the
    # neighbour's objection.
    standing = vh.open_ballot(
        db,
        hall,
        chair,
        rule=RuleKind.RESIDENTS_MEETING,
        voter_unit="household",
        counters=(resident,),
        live_results=True,
        secret=False,  # named: the chair records in person (a 无记名 one: test_voting_secret)
    )
    with db.session() as session:
        service_access = queries.hall_access(session, user=neighbour, hall=hall.hall)
        vote_service.cast_vote(
            session=session,
            access=service_access,
            actor=neighbour,
            ballot_id=standing.id or 0,
            form=vote_schemas.VoteForm(option="yes", submission_id=vh.sid(), consent=True),
        )
    vh.issue_papers(db, hall, chair, standing)
    rows = vh.roll(db, standing)
    unvoted = next(r for r in rows if r.vote_id is None)
    vh.in_person(db, hall, chair, standing, unvoted.entry.id or 0, "no")
    # The resident, as 计票人, enters the neighbour's paper ballot: the desk shows whose it is.
    neighbours_flat = "".join(_address(db, hall.households[5]))
    code = next(c for c, entry in vh.papers(db, standing) if entry.label == neighbours_flat)
    reading = vh.enter_paper(db, hall, resident, standing, code)
    voted = next(r.vote_id for r in vh.roll(db, standing) if r.vote_id is not None)
    finished = vh.open_ballot(db, hall, chair)  # owners' ballot, closed with no votes
    ih.close_ballot(db, hall, chair, finished.id or 0)
    publicized = ih.deliberating(db, hall, chair, title="公示中的议题")
    plan = ih.solution(db, hall, chair, publicized.id or 0)
    ih.close_deliberation(db, hall, chair, publicized.id or 0, plan.id or 0)
    ih.publicize(db, hall, chair, publicized.id or 0)
    objected = ih.objection(db, hall, neighbour, publicized.id or 0)
    # 协商会议: a 居民会议 open for sign-in, the neighbour ticked in by the chair.
    meeting = mh.now_meeting(db, hall, chair, MeetingKind.RESIDENTS)
    mh.tick(db, hall, chair, meeting, neighbour)
    # The meeting as held: the neighbour's hand is up and a speech of theirs noted; another
    # meeting closed (its projector stream ends, so the crawl can read it).
    lh.call(db, hall, chair, meeting_service.start_meeting, meeting_id=meeting.id)
    queued = lh.call(db, hall, neighbour, meeting_service.raise_hand, meeting_id=meeting.id)
    noted = lh.speech(db, hall, chair, meeting, speaker_id=queued.speaker.id, speaker_name="")
    ended = mh.now_meeting(db, hall, chair)
    lh.call(db, hall, chair, meeting_service.start_meeting, meeting_id=ended.id)
    lh.call(db, hall, chair, meeting_service.end_meeting, meeting_id=ended.id)
    issue_params = {
        "street_id": hall.street.id or 0,
        "meeting_id": meeting.id or 0,
        "issue_id": issue.id or 0,
        "photo_id": ih.photo_id(db, issue.id or 0),
        "comment_id": said.id or 0,
        "ballot_id": standing.id or 0,
        "closed_ballot_id": finished.id or 0,
        "vote_id": voted or 0,
        "entry_id": reading.id or 0,
        "objection_id": objected,
        "speaker_id": queued.speaker.id or 0,
        "speech_id": noted.id or 0,
        "closed_meeting_id": ended.id or 0,
    }
    yield World(
        db,
        hall,
        other,
        people,
        clients,
        neighbour_m.id or 0,
        building_id,
        entrance_id,
        issue_params,
    )
    for client in clients.values():
        client.__exit__(None, None, None)


# --- crawling ---------------------------------------------------------------------------------


def crawl(w: World, role: str) -> Iterator[tuple[str, Any]]:
    """Every GET route in the inventory, with its query variants, as a page and as a fragment."""
    params = {
        "hall_id": w.hall_id,
        "membership_id": w.target_membership,
        "token": w.invite_token(),
        "building_id": w.building_id,
        "entrance_id": w.entrance_id,
        **w.issue_params,
    }
    client = w.clients[role]
    for key in sorted(ROUTES):
        method, template = key
        if method not in {"GET", "MOUNT"}:
            continue
        here = params | ({"ballot_id": params["closed_ballot_id"]} if key in CRAWL_FINISHED else {})
        if key in CRAWL_ENDED:
            here["meeting_id"] = params["closed_meeting_id"]
        base = STATIC_SAMPLE if method == "MOUNT" else template.format(**here)
        for url in [base] + [f"{base}?{q.format(**here)}" for q in EXTRA_QUERIES.get(key, [])]:
            for headers in ({}, {"HX-Request": "true"}):
                response = client.get(url, headers=headers, follow_redirects=False)
                assert response.status_code < 500, f"{role} GET {url}: {response.status_code}"
                yield f"GET {url}{' (htmx)' if headers else ''}", response


def _text(response: Any) -> str:
    if response.headers.get("content-type", "").startswith("image/"):
        return ""
    return str(response.text)


def _json_addresses(value: Any) -> Iterator[dict[str, Any]]:
    """Objects in a JSON answer that place a person somewhere (an address, or a room next to a person)."""
    if isinstance(value, list):
        for item in value:
            yield from _json_addresses(item)
    elif isinstance(value, dict):
        if isinstance(value.get("address"), dict):
            yield value["address"]
        if "room" in value and ({"name", "phone", "user_id", "membership_id"} & value.keys()):
            yield value
        for item in value.values():
            yield from _json_addresses(item)


def leaks(w: World, role: str, where: str, response: Any, *, own: Iterable[str]) -> list[str]:
    """Full phones and full addresses of anyone but `own` in one response."""
    body = _text(response)
    own_people = [w.people[name] for name in own]
    own_phones = {p.phone for p in own_people}
    problems = []
    for phone in PHONE_RE.findall(body):
        if phone not in own_phones and phone not in EXAMPLE_PHONES:
            problems.append(f"{role} {where}: full phone {phone}")
    flat = " ".join(TAG_RE.sub(" ", body).split())
    own_addresses = {p.address for p in own_people}
    for name, person in w.people.items():
        if name in own or person.address is None or person.address in own_addresses:
            continue  # (hall B numbers its flats like hall A: the same text may be one's own)
        building, entrance, room = person.address
        pattern = rf"{re.escape(building)}\s*{re.escape(entrance)}\s*{re.escape(room)}(?![0-9])"
        if re.search(pattern, flat):
            problems.append(f"{role} {where}: full address of {name} {person.address}")
    if response.headers.get("content-type", "").startswith("application/json"):
        others = {p.address for n, p in w.people.items() if p.address and n not in own}
        others -= own_addresses
        for address in _json_addresses(response.json()):
            room = str(address.get("room"))
            if "building" in address and "entrance" in address:
                placed = (str(address["building"]), str(address["entrance"]), room) in others
            else:
                placed = room in {a[2] for a in others} - {a[2] for a in own_addresses if a}
            if placed:
                problems.append(f"{role} {where}: full room {room} in JSON {address}")
    return problems


# --- PRIV-02: the crawlers --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("role", "own"),
    [
        ("resident", ("resident",)),
        ("street", ("street",)),
        ("stranger", ("stranger",)),
        ("anon", ()),
    ],
)
def test_crawler_finds_no_one_elses_phone_or_address(
    world: World, role: str, own: tuple[str, ...]
) -> None:
    problems: list[str] = []
    visited = 0
    for where, response in crawl(world, role):
        problems.extend(leaks(world, role, where, response, own=own))
        visited += 1
    assert visited > 40
    assert not problems, "\n".join(problems)


def test_resident_sees_their_own_details(world: World) -> None:
    """The owner is the exception to masking: their own phone and room, in full."""
    client = world.clients["resident"]
    me = world.people["resident"]
    assert client.get("/api/v1/me").json()["phone"] == me.phone
    home = client.get(f"/halls/{world.hall_id}").text
    assert me.address is not None
    assert " ".join(me.address) in " ".join(TAG_RE.sub(" ", home).split())


def test_chair_sees_full_phones_and_rooms(world: World) -> None:
    """Positive control for the crawler: the same detectors do fire on the chair's views."""
    client = world.clients["chair"]
    page = client.get(f"/halls/{world.hall_id}/members?status=verified").text
    flat = " ".join(TAG_RE.sub(" ", page).split())
    for name in ("neighbour", "entered", "roster"):
        person = world.people[name]
        assert person.phone in page, name
        assert person.address is not None
        assert " ".join(person.address) in flat, name
    pending = client.get(f"/halls/{world.hall_id}/members?status=pending").text
    assert world.people["pending"].phone in pending
    api = client.get(f"/api/v1/halls/{world.hall_id}/members?limit=500").json()
    by_phone = {m["phone"]: m for m in api}
    for name in ("neighbour", "pending", "rejected", "entered", "roster", "resident"):
        person = world.people[name]
        assert person.phone in by_phone, name
        assert person.address is not None
        assert by_phone[person.phone]["address"]["room"] == person.address[2]
    assert world.people["stranger"].phone not in by_phone  # another hall's member


def test_paper_desk_shows_officers_masked_rooms_and_the_chair_full_ones(world: World) -> None:
    """The 计票人 checks a reading by its code and a masked address; the chair sees it whole."""
    neighbour = world.people["neighbour"]
    assert neighbour.address is not None
    building, entrance, room = neighbour.address
    url = f"/halls/{world.hall_id}/ballots/{world.issue_params['ballot_id']}/paper"
    counter = world.clients["resident"].get(url)
    assert counter.status_code == 200
    assert f"{building}{entrance}{mask_room(room)}" in counter.text
    assert f"{building}{entrance}{room}" not in counter.text
    chair = world.clients["chair"].get(url)
    assert f"{building}{entrance}{room}" in chair.text


def test_street_admin_sees_masked_phones_and_rooms(world: World) -> None:
    client = world.clients["street"]
    page = client.get(f"/halls/{world.hall_id}/members?status=verified")
    assert page.status_code == 200
    for name in ("neighbour", "entered", "roster", "resident", "chair"):
        person = world.people[name]
        assert person.phone not in page.text, name
        assert mask_phone(person.phone) in page.text, name
        assert re.fullmatch(r"1[3-9]\d\*{4}\d{4}", mask_phone(person.phone))
    api = client.get(f"/api/v1/halls/{world.hall_id}/members?limit=500")
    assert api.status_code == 200
    members = api.json()
    assert members
    for member in members:
        assert member["phone"] is None or re.fullmatch(r"1[3-9]\d\*{4}\d{4}", member["phone"]), (
            member
        )
        if member["address"]:
            assert "*" in member["address"]["room"] or len(member["address"]["room"]) == 1, member
            assert member["address"]["area_centi_m2"] is None
    rooms = {m["address"]["room"] for m in members if m["address"]}
    assert mask_room("1702") in rooms


# --- PRIV-03: no PII in attributes or URLs ----------------------------------------------------


class _Attrs(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.attrs: list[tuple[str, str, str]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.attrs.extend((tag, name, value or "") for name, value in attrs)


def test_no_pii_in_attributes_or_urls(world: World) -> None:
    """As the chair (who is shown everything): data-*, hx-vals and every URL carry no phone or name."""
    names = {p.name for p in world.people.values()}
    problems = []
    for where, response in crawl(world, "chair"):
        if not response.headers.get("content-type", "").startswith("text/html"):
            continue
        parser = _Attrs()
        parser.feed(response.text)
        for tag, name, value in parser.attrs:
            carries = name.startswith("data-") or name in {"hx-vals", "hx-headers", "hx-include"}
            is_url = name in {"href", "src", "action", "formaction"} or name.startswith("hx-")
            if not (carries or is_url):
                continue
            if PHONE_RE.search(value) or any(n in value for n in names):
                problems.append(f"{where}: <{tag} {name}={value!r}>")
        location = response.headers.get("location", "")
        if PHONE_RE.search(location):
            problems.append(f"{where}: redirect to {location}")
    assert not problems, "\n".join(problems)


# --- PRIV-04: no-store -------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["chair", "resident", "street"])
def test_pages_with_personal_data_are_not_stored(world: World, role: str) -> None:
    problems = []
    for where, response in crawl(world, role):
        if where.startswith(f"GET {STATIC_SAMPLE}"):
            continue
        if "no-store" not in response.headers.get("cache-control", ""):
            problems.append(
                f"{role} {where}: cache-control {response.headers.get('cache-control')!r}"
            )
        if response.headers.get("content-type", "").startswith("text/html"):
            assert "HX-Request" in response.headers.get("vary", ""), where
    assert not problems, "\n".join(problems)
    # The obvious ones, spelled out.
    client = world.clients[role]
    for url in (f"/halls/{world.hall_id}", "/api/v1/me", "/api/v1/halls", "/"):
        assert client.get(url).headers["cache-control"] == "no-store", url


# --- the audit trail --------------------------------------------------------------------------


def test_audit_data_never_holds_a_full_phone(world: World, db: Database) -> None:
    """The 代录 and roster events above carried phones; the trail keeps them masked. Every event
    in the database is checked, whoever wrote it."""
    with db.session(read_only=True) as session:
        events = session.exec(select(AuditEvent)).all()
        entered = session.exec(
            select(AuditEvent).where(
                AuditEvent.hall_id == world.hall_id,
                AuditEvent.action == "halls.add_member_on_behalf",
            )
        ).all()
    problems = [f"#{e.id} {e.action}: {e.data}" for e in events if PHONE_RE.search(e.data)]
    assert not problems, "\n".join(problems)
    assert entered
    phone = world.people["entered"].phone
    assert any(json.loads(e.data).get("phone") == mask_phone(phone) for e in entered)
    for person in world.people.values():
        assert all(person.phone not in e.data for e in events)


def test_audit_page_shows_no_full_phone(world: World) -> None:
    for role in ("chair", "street"):
        page = world.clients[role].get(f"/halls/{world.hall_id}/audit")
        assert page.status_code == 200
        found = set(PHONE_RE.findall(page.text)) - {world.people[role].phone}
        assert not found, f"{role}: {found}"


def test_other_halls_members_are_invisible(world: World, db: Database) -> None:
    """The chair of A cannot list B's members, and B's people never appear in A's lists."""
    chair = world.clients["chair"]
    other_id = world.other_hall.hall.id
    assert chair.get(f"/halls/{other_id}/members").status_code == 404
    assert chair.get(f"/api/v1/halls/{other_id}/members").status_code == 404
    with db.session(read_only=True) as session:
        count = session.exec(
            select(sa.func.count()).select_from(Membership).where(Membership.hall_id == other_id)
        ).one()
    assert count >= 2
