"""JSON API for halls. It calls the same services as the pages; only the rendering differs."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, File, Path, Query, UploadFile
from pydantic import BaseModel
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool

from app.accounts.deps import CurrentUser
from app.core import fields
from app.core.errors import Conflict, NotFound, ValidationFailed
from app.core.privacy import mask_phone, mask_room
from app.halls import policies, queries, roster, schemas, service
from app.halls.deps import AccessDep, HallDep
from app.halls.models import Building, MembershipStatus, Relation, Role
from app.halls.policies import HallAccess
from app.web.deps import SessionDep, SettingsDep
from app.web.openapi import errors, session_cookie
from app.web.routing import GuardedRoute

router = APIRouter(
    route_class=GuardedRoute,
    prefix="/api/v1",
    tags=["api"],
    dependencies=[Depends(session_cookie)],
    responses=errors(401, 403),
)

IdPath = Annotated[fields.Id, Path()]


class HallPublic(BaseModel):
    id: int
    name: str
    street: str
    status: MembershipStatus | None
    roles: list[Role]


class AddressPublic(BaseModel):
    building: str
    entrance: str
    room: str
    area_centi_m2: int | None


class MemberPublic(BaseModel):
    membership_id: int
    user_id: int
    name: str
    phone: str | None
    status: MembershipStatus
    relation: Relation
    address: AddressPublic | None
    roles: list[Role]
    reject_reason: str | None
    entered_by_chair: bool


class MembershipPublic(BaseModel):
    membership_id: int
    hall_id: int
    status: MembershipStatus


class HouseholdChoice(BaseModel):
    id: int
    room: str


class EntranceChoice(BaseModel):
    id: int
    name: str
    households: list[HouseholdChoice]


class BuildingChoice(BaseModel):
    id: int
    name: str
    entrances: list[EntranceChoice]


class InvitePublic(BaseModel):
    hall_id: int
    hall_name: str
    buildings: list[BuildingChoice]


class RowErrorPublic(BaseModel):
    line: int
    column: str
    code: str
    value: str


class FrozenPublic(BaseModel):
    """An open owners' ballot that keeps counting this household's area frozen at open."""

    ballot_id: int
    title: str
    weight_centi_m2: int
    units: int


class PreviewRowPublic(BaseModel):
    line: int
    building: str
    entrance: str
    room: str
    status: Literal["new", "changed", "unchanged"]
    household: Literal["new", "changed", "unchanged"]
    area_old_centi_m2: int | None
    area_new_centi_m2: int | None
    name: str
    phone: str | None
    relation: Relation | None
    person: Literal["new", "member"] | None
    frozen: list[FrozenPublic]


class RosterCountsPublic(BaseModel):
    new: int
    changed: int
    unchanged: int
    buildings_created: int
    entrances_created: int
    households_created: int
    areas_updated: int
    members_created: int
    members_existing: int


class RosterPreviewPublic(BaseModel):
    token: str
    expires_at: datetime | None
    counts: RosterCountsPublic
    rows: list[PreviewRowPublic]


class ImportPublic(BaseModel):
    rows: int
    buildings_created: int
    entrances_created: int
    households_created: int
    areas_updated: int
    members_created: int
    members_existing: int


@router.get("/halls", name="api.my_halls", response_model=list[HallPublic])
def my_halls(session: SessionDep, user: CurrentUser) -> list[HallPublic]:
    """Halls I belong to (any status) and, for street officials, every hall of the street."""
    return [
        HallPublic(
            id=h.hall.id or 0,
            name=h.hall.name,
            street=h.street.name,
            status=h.membership.status if h.membership else None,
            roles=sorted(h.roles),
        )
        for h in queries.list_my_halls(session, user_id=user.id or 0)
    ]


@router.get(
    "/halls/{hall_id}/members",
    name="api.members",
    response_model=list[MemberPublic],
    responses=errors(404, 422),
)
def members(
    session: SessionDep,
    hall: HallDep,
    access: AccessDep,
    status: Annotated[MembershipStatus | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0, le=10**6)] = 0,
) -> list[MemberPublic]:
    """Members of the hall (chair and street officials). Phones and rooms are masked except for the chair."""
    if not policies.can_view_members(access):
        raise NotFound("not_found")
    rows = queries.list_members(
        session, hall_id=hall.id or 0, status=status, limit=limit, offset=offset
    )
    return [_member_public(access, row) for row in rows]


def _member_public(access: HallAccess, row: queries.MemberRow) -> MemberPublic:
    """One member as the API shows them: phone and room masked except for the chair."""
    full = policies.can_see_contact(access, owner_user_id=row.user.id)
    phone = row.user.phone if full else (mask_phone(row.user.phone) if row.user.phone else None)
    address = None
    if row.address:
        address = AddressPublic(
            building=row.address.building,
            entrance=row.address.entrance,
            room=row.address.room if full else mask_room(row.address.room),
            area_centi_m2=row.address.area_centi_m2 if full else None,
        )
    return MemberPublic(
        membership_id=row.membership.id or 0,
        user_id=row.user.id or 0,
        name=row.user.name,
        phone=phone,
        status=row.membership.status,
        relation=row.membership.relation,
        address=address,
        roles=sorted(row.roles),
        reject_reason=row.membership.reject_reason,
        entered_by_chair=row.membership.entered_by_id is not None,
    )


@router.get(
    "/join/{token}", name="api.invite", response_model=InvitePublic, responses=errors(404, 422)
)
def invite(
    session: SessionDep, _user: CurrentUser, token: Annotated[fields.Text, Path(max_length=100)]
) -> InvitePublic:
    """The hall behind an invite link, with its buildings, entrances and rooms to choose from."""
    hall = service.hall_for_invite(session, token)
    hall_id = hall.id or 0
    buildings = [
        BuildingChoice(id=b.id or 0, name=b.name, entrances=_entrance_choices(session, b))
        for b in queries.list_buildings(session, hall_id=hall_id)
    ]
    return InvitePublic(hall_id=hall_id, hall_name=hall.name, buildings=buildings)


def _entrance_choices(session: Session, building: Building) -> list[EntranceChoice]:
    hall_id = building.hall_id
    return [
        EntranceChoice(
            id=e.id or 0,
            name=e.name,
            households=[
                HouseholdChoice(id=h.id or 0, room=h.room)
                for h in queries.list_households(session, hall_id=hall_id, entrance_id=e.id or 0)
            ],
        )
        for e in queries.list_entrances(session, hall_id=hall_id, building_id=building.id or 0)
    ]


@router.post(
    "/join/{token}",
    name="api.join",
    response_model=MembershipPublic,
    status_code=201,
    responses=errors(404, 409, 422),
)
def join(
    session: SessionDep,
    user: CurrentUser,
    token: Annotated[fields.Text, Path(max_length=100)],
    body: schemas.JoinForm,
) -> MembershipPublic:
    """Ask to join the hall; the chair verifies."""
    m = service.join_hall(session=session, user=user, token=token, form=body)
    return MembershipPublic(membership_id=m.id or 0, hall_id=m.hall_id, status=m.status)


def _require_manager(access: HallAccess) -> None:
    # As on the pages: inside a hall the caller can see, a forbidden action is reported as
    # missing (404), before any input is read (AUTHZ-03).
    if not policies.can_manage_members(access):
        raise NotFound("not_found")


@router.post(
    "/halls/{hall_id}/members/{membership_id}/verify",
    name="api.verify",
    response_model=MembershipPublic,
    responses=errors(404, 409, 422),
)
def verify(
    session: SessionDep, access: AccessDep, user: CurrentUser, membership_id: IdPath
) -> MembershipPublic:
    """The chair verifies a pending member."""
    _require_manager(access)
    m = service.verify_member(
        session=session, access=access, actor=user, membership_id=membership_id
    )
    return MembershipPublic(membership_id=m.id or 0, hall_id=m.hall_id, status=m.status)


@router.post(
    "/halls/{hall_id}/members/{membership_id}/reject",
    name="api.reject",
    response_model=MembershipPublic,
    responses=errors(404, 409, 422),
)
def reject(
    session: SessionDep,
    access: AccessDep,
    user: CurrentUser,
    membership_id: IdPath,
    body: schemas.RejectForm,
) -> MembershipPublic:
    """The chair rejects a pending member, with a reason."""
    _require_manager(access)
    m = service.reject_member(
        session=session, access=access, actor=user, membership_id=membership_id, form=body
    )
    return MembershipPublic(membership_id=m.id or 0, hall_id=m.hall_id, status=m.status)


@router.post(
    "/halls/{hall_id}/roster",
    name="api.roster",
    response_model=RosterPreviewPublic,
    responses=errors(404, 409, 422),
)
async def import_roster(
    session: SessionDep,
    settings: SettingsDep,
    access: AccessDep,
    user: CurrentUser,
    file: Annotated[UploadFile, File()],
) -> RosterPreviewPublic:
    """Upload and check a household roster (CSV or XLSX): the preview of what importing it would
    do (new, changed with old → new area, unchanged rows) and a token; nothing is imported until
    POST …/roster/confirm with that token. Any bad row or unreadable file: 422, nothing kept."""
    _require_manager(access)
    name, data = file.filename or "", await file.read(settings.upload_max_bytes + 1)
    who = {"session": session, "access": access, "actor": user}
    check = await run_in_threadpool(_preview, who, name, data, settings.upload_max_bytes)
    return _preview_public(check.preview, check.token, check.expires_at)


def _preview(who: dict[str, Any], name: str, data: bytes, max_bytes: int) -> service.RosterCheck:
    """Parse the file and keep the preview: in a worker thread, not on the event loop."""
    parsed = service.read_roster(name, data, max_bytes=max_bytes)
    if not parsed.ok:
        raise ValidationFailed(
            {"file": "roster_has_errors"},
            rows=[RowErrorPublic(**e.__dict__).model_dump() for e in parsed.errors],
        )
    return service.preview_roster(**who, roster=parsed, filename=name, content=data)


@router.post(
    "/halls/{hall_id}/roster/confirm",
    name="api.roster_confirm",
    response_model=ImportPublic,
    responses=errors(404, 409, 422),
)
def confirm_roster(
    session: SessionDep,
    access: AccessDep,
    user: CurrentUser,
    body: schemas.RosterConfirmForm,
) -> ImportPublic:
    """Import the roster previewed under `token`. If the hall changed since the preview: 409
    `roster_changed` with the new `preview`; the same token then confirms it. An unknown,
    used or hour-old token: 422 `roster_preview_expired`."""
    _require_manager(access)
    try:
        result = service.confirm_roster(
            session=session, access=access, actor=user, token=body.token
        )
    except service.RosterChanged as exc:
        preview = _preview_public(exc.preview, exc.token, None)
        raise Conflict("roster_changed", preview=preview.model_dump(mode="json")) from None
    return ImportPublic(**result.__dict__)


def _preview_public(
    preview: roster.Preview, token: str, expires_at: datetime | None
) -> RosterPreviewPublic:
    return RosterPreviewPublic(
        token=token,
        expires_at=expires_at,
        counts=RosterCountsPublic(**preview.counts),
        rows=[
            PreviewRowPublic(
                line=r.line,
                building=r.building,
                entrance=r.entrance,
                room=r.room,
                status=r.status,
                household=r.household,
                area_old_centi_m2=r.area_old,
                area_new_centi_m2=r.area_new,
                name=r.name,
                phone=r.phone or None,
                relation=r.relation,
                person=r.person or None,
                frozen=[
                    FrozenPublic(
                        ballot_id=f.ballot_id,
                        title=f.title,
                        weight_centi_m2=f.weight_centi_m2,
                        units=f.units,
                    )
                    for f in r.frozen
                ],
            )
            for r in preview.rows
        ],
    )
