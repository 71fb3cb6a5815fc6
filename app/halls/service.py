"""Use cases for halls: invites, joining, verification, 代录, roster import, settings, roles.

Each public function owns its transaction, checks the caller's rights with halls.policies
(the JSON API and the pages call the same functions) and writes one audit event.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from app.accounts import schemas as account_schemas
from app.accounts.models import User
from app.audit import service as audit
from app.core import clock, security
from app.core.errors import Conflict, NotAllowed, NotFound, ValidationFailed
from app.core.privacy import mask_phone
from app.halls import policies, queries, schemas
from app.halls import roster as roster_rules
from app.halls.models import (
    Building,
    Entrance,
    Hall,
    Household,
    Membership,
    MembershipRole,
    MembershipStatus,
    PropertyCompany,
    Relation,
    Role,
    RosterUpload,
    Street,
    StreetAdmin,
    UnitOwnership,
)
from app.halls.policies import HallAccess
from app.halls.roster import ParsedRoster, RosterRow


def _require(allowed: bool, code: str = "not_allowed") -> None:
    if not allowed:
        raise NotAllowed(code)


def create_street(*, session: Session, district: str, name: str, actor_id: int | None) -> Street:
    """Create a 街道 (platform admin or demo seeding only)."""
    street = Street(district=district, name=name)
    session.add(street)
    session.flush()
    audit.record(
        session,
        action="halls.create_street",
        actor_id=actor_id,
        hall_id=None,
        subject_type="street",
        subject_id=street.id,
        data={"name": name},
    )
    session.commit()
    return street


def create_property_company(
    *, session: Session, street: Street, name: str, actor_id: int | None
) -> PropertyCompany:
    """Register a 物业公司 of the street (platform admin or demo seeding only): its tasks and
    its halls' evaluations are counted in the street's 三率 per company."""
    company = PropertyCompany(street_id=street.id or 0, name=name)
    session.add(company)
    session.flush()
    audit.record(
        session,
        action="halls.create_property_company",
        actor_id=actor_id,
        hall_id=None,
        subject_type="property_company",
        subject_id=company.id,
        data={"name": name},
    )
    session.commit()
    return company


def set_property_company(
    *, session: Session, hall: Hall, company: PropertyCompany | None, actor_id: int | None
) -> Hall:
    """The 物业公司 serving the hall (platform admin or demo seeding only): its 物业 tasks are
    the company's. Raises ValidationFailed when the company is another street's."""
    if company is not None and company.street_id != hall.street_id:
        raise ValidationFailed({"company_id": "not_found"})
    hall.property_company_id = company.id if company is not None else None
    session.add(hall)
    audit.record(
        session,
        action="halls.set_property_company",
        actor_id=actor_id,
        hall_id=hall.id,
        subject_type="hall",
        subject_id=hall.id,
        data={"company_id": hall.property_company_id},
    )
    session.commit()
    return hall


def create_hall(
    *,
    session: Session,
    street: Street,
    name: str,
    address: str,
    actor_id: int | None,
    invite_days: int = 30,
) -> Hall:
    """Create a 社区议事厅 with DOMAIN.md §8 default settings and a fresh invite link."""
    hall = Hall(
        street_id=street.id or 0,
        name=name,
        address=address,
        invite_token=security.new_token(),
        invite_expires_at=clock.now() + timedelta(days=invite_days),
    )
    session.add(hall)
    session.flush()
    audit.record(
        session,
        action="halls.create_hall",
        actor_id=actor_id,
        hall_id=hall.id,
        subject_type="hall",
        subject_id=hall.id,
        data={"name": name},
    )
    session.commit()
    return hall


def add_street_admin(
    *, session: Session, street: Street, user: User, actor_id: int | None
) -> StreetAdmin:
    """Make someone a 街道 official who sees every hall of the street."""
    row = StreetAdmin(street_id=street.id or 0, user_id=user.id or 0)
    session.add(row)
    session.flush()
    audit.record(
        session,
        action="halls.add_street_admin",
        actor_id=actor_id,
        hall_id=None,
        subject_type="street",
        subject_id=street.id,
        data={"user_id": user.id},
    )
    session.commit()
    return row


def rotate_invite(
    *, session: Session, access: HallAccess, actor: User, hall: Hall, days: int = 30
) -> Hall:
    """Issue a new invite link; the old link and its QR code stop working at once.

    Raises: NotAllowed unless the actor manages the hall's members.
    """
    _require(policies.can_manage_members(access))
    db_hall = session.get(Hall, hall.id)
    assert db_hall is not None
    db_hall.invite_token = security.new_token()
    db_hall.invite_expires_at = clock.now() + timedelta(days=days)
    audit.record(
        session,
        action="halls.rotate_invite",
        actor_id=actor.id,
        hall_id=db_hall.id,
        subject_type="hall",
        subject_id=db_hall.id,
        data={"days": days},
    )
    session.commit()
    return db_hall


def hall_for_invite(session: Session, token: str) -> Hall:
    """The hall an invite link leads to. Raises NotFound for an unknown or expired link."""
    hall = queries.get_hall_by_invite(session, token)
    if hall is None or hall.invite_expires_at < clock.now():
        raise NotFound("invite_invalid")
    return hall


def _check_household(
    session: Session, hall_id: int, household_id: int | None, relation: Relation | None
) -> dict[str, str]:
    errors: dict[str, str] = {}
    if relation is None:
        errors["relation"] = "required"
    if household_id is None:
        errors["household_id"] = "required"
    elif (
        session.exec(
            select(Household.id).where(Household.id == household_id, Household.hall_id == hall_id)
        ).first()
        is None
    ):
        errors["household_id"] = "household_unknown"
    return errors


def join_hall(*, session: Session, user: User, token: str, form: schemas.JoinForm) -> Membership:
    """Ask to join a hall through its invite link, naming one's household and relation.

    Rules:
    - the link must be current; the household must belong to that hall;
    - one membership per person and hall (database-enforced); a rejected person may ask again;
    - the request waits for the chair's verification; an owner's unit is recorded as owned.

    Raises: NotFound (bad link), ValidationFailed (fields), Conflict("already_member").
    """
    hall = hall_for_invite(session, token)
    assert hall.id is not None
    assert user.id is not None
    errors = _check_household(session, hall.id, form.household_id, form.relation)
    if errors:
        raise ValidationFailed(errors)
    assert form.relation is not None
    existing = session.exec(
        select(Membership).where(Membership.hall_id == hall.id, Membership.user_id == user.id)
    ).first()
    if existing is not None and existing.status != MembershipStatus.REJECTED:
        raise Conflict("already_member")
    if existing is not None:
        # Conditional update, as in _decide: of many concurrent re-requests exactly one
        # reopens the row. A plain ORM update let every one "succeed" on PostgreSQL and could
        # turn a member verified in the meantime back into a pending one.
        reopened = session.exec(
            update(Membership)
            .where(
                col(Membership.id) == existing.id,
                col(Membership.status) == MembershipStatus.REJECTED,
            )
            .values(
                status=MembershipStatus.PENDING,
                household_id=form.household_id,
                relation=form.relation,
                reject_reason=None,
                decided_at=None,
                decided_by_id=None,
            )
        )
        if reopened.rowcount != 1:
            session.rollback()
            raise Conflict("already_member")
        session.refresh(existing)
        membership = existing
    else:
        membership = Membership(
            hall_id=hall.id, user_id=user.id, household_id=form.household_id, relation=form.relation
        )
        session.add(membership)
        try:
            session.flush()
        except IntegrityError:
            # Another request for the same person won the race; the constraint decided.
            session.rollback()
            raise Conflict("already_member") from None
    audit.record(
        session,
        action="halls.join_hall",
        actor_id=user.id,
        hall_id=hall.id,
        subject_type="membership",
        subject_id=membership.id,
        data={"household_id": form.household_id, "relation": form.relation.value},
    )
    session.commit()
    return membership


def _own_unit(session: Session, membership: Membership, household_id: int) -> None:
    """Record that this member owns that unit (once)."""
    exists = session.exec(
        select(UnitOwnership.id).where(
            UnitOwnership.membership_id == membership.id,
            UnitOwnership.household_id == household_id,
        )
    ).first()
    if exists is None:
        session.add(
            UnitOwnership(
                hall_id=membership.hall_id,
                membership_id=membership.id or 0,
                household_id=household_id,
            )
        )


def _set_owned_unit(session: Session, membership: Membership) -> None:
    if membership.relation == Relation.OWNER and membership.household_id is not None:
        _own_unit(session, membership, membership.household_id)


def _add_role(session: Session, membership: Membership, role: Role) -> None:
    exists = session.exec(
        select(MembershipRole.id).where(
            MembershipRole.membership_id == membership.id, MembershipRole.role == role
        )
    ).first()
    if exists is None:
        session.add(
            MembershipRole(hall_id=membership.hall_id, membership_id=membership.id or 0, role=role)
        )


def _decide(
    session: Session,
    *,
    access: HallAccess,
    actor: User,
    membership_id: int,
    status: MembershipStatus,
    reason: str | None,
) -> Membership:
    _require(policies.can_manage_members(access))
    membership = queries.get_membership(
        session, hall_id=access.hall_id, membership_id=membership_id
    )
    if membership is None:
        raise NotFound("member_unknown")
    # Conditional update: of many concurrent deciders exactly one changes the row.
    result = session.exec(
        update(Membership)
        .where(
            col(Membership.id) == membership_id, col(Membership.status) == MembershipStatus.PENDING
        )
        .values(status=status, reject_reason=reason, decided_at=clock.now(), decided_by_id=actor.id)
    )
    if result.rowcount != 1:
        session.rollback()
        raise Conflict("already_decided")
    session.refresh(membership)
    if status == MembershipStatus.VERIFIED:
        _add_role(session, membership, Role.RESIDENT)
        _set_owned_unit(session, membership)
    audit.record(
        session,
        action="halls.verify_member"
        if status == MembershipStatus.VERIFIED
        else "halls.reject_member",
        actor_id=actor.id,
        hall_id=access.hall_id,
        subject_type="membership",
        subject_id=membership.id,
        data={"reason": reason} if reason else {},
    )
    session.commit()
    return membership


def verify_member(
    *, session: Session, access: HallAccess, actor: User, membership_id: int
) -> Membership:
    """The chair confirms a pending member.

    Rules: only a pending request can be verified, once; the member becomes a 居民 and,
    if an owner, the owner of their unit.
    Raises: NotAllowed, NotFound (not in this hall), Conflict("already_decided").
    """
    return _decide(
        session,
        access=access,
        actor=actor,
        membership_id=membership_id,
        status=MembershipStatus.VERIFIED,
        reason=None,
    )


def reject_member(
    *,
    session: Session,
    access: HallAccess,
    actor: User,
    membership_id: int,
    form: schemas.RejectForm,
) -> Membership:
    """The chair turns down a pending request, with a reason the person sees.

    Raises: NotAllowed, NotFound, ValidationFailed({"reason": …}), Conflict("already_decided").
    """
    reason = form.reason.strip()
    if not reason:
        raise ValidationFailed({"reason": "required"})
    if len(reason) > 200:
        raise ValidationFailed({"reason": "too_long"})
    return _decide(
        session,
        access=access,
        actor=actor,
        membership_id=membership_id,
        status=MembershipStatus.REJECTED,
        reason=reason,
    )


def add_member_on_behalf(
    *, session: Session, access: HallAccess, actor: User, form: schemas.OnBehalfForm
) -> Membership:
    """The chair enters a resident who has no smartphone (代录); audited as such.

    Rules:
    - name, household and relation are required; the phone is optional but must be valid;
    - a phone that already has an account links to that person instead of a new account;
    - the member is verified at once, since the chair vouches for them.

    Raises: NotAllowed, ValidationFailed, Conflict("person_already_member").
    """
    _require(policies.can_manage_members(access))
    phone = form.phone.strip()
    errors = _check_household(session, access.hall_id, form.household_id, form.relation)
    if problem := account_schemas.name_problem(form.name):
        errors["name"] = problem
    if phone and (problem := account_schemas.phone_problem(phone)):
        errors["phone"] = problem
    if errors:
        raise ValidationFailed(errors)
    assert form.relation is not None
    user = session.exec(select(User).where(User.phone == phone)).first() if phone else None
    if user is None:
        user = User(phone=phone or None, name=form.name.strip())
        session.add(user)
        session.flush()
    elif (
        session.exec(
            select(Membership.id).where(
                Membership.hall_id == access.hall_id, Membership.user_id == user.id
            )
        ).first()
        is not None
    ):
        raise Conflict("person_already_member")
    now = clock.now()
    membership = Membership(
        hall_id=access.hall_id,
        user_id=user.id or 0,
        household_id=form.household_id,
        relation=form.relation,
        status=MembershipStatus.VERIFIED,
        decided_at=now,
        decided_by_id=actor.id,
        entered_by_id=actor.id,
    )
    session.add(membership)
    try:
        session.flush()
    except IntegrityError:
        session.rollback()
        raise Conflict("person_already_member") from None
    _add_role(session, membership, Role.RESIDENT)
    _set_owned_unit(session, membership)
    audit.record(
        session,
        action="halls.add_member_on_behalf",
        actor_id=actor.id,
        hall_id=access.hall_id,
        subject_type="membership",
        subject_id=membership.id,
        data={
            "user_id": user.id,
            "phone": mask_phone(phone) if phone else None,
            "household_id": form.household_id,
            "relation": form.relation.value,
        },
    )
    session.commit()
    return membership


@dataclass(frozen=True)
class ImportResult:
    rows: int
    buildings_created: int
    entrances_created: int
    households_created: int
    areas_updated: int
    members_created: int
    members_existing: int


def import_roster(
    *, session: Session, access: HallAccess, actor: User, roster: ParsedRoster
) -> ImportResult:
    """Load a household roster (楼栋, 单元, 房号, 面积, 姓名, 电话, 身份) into the hall.

    Rules:
    - a roster with any bad row is refused whole, with every problem listed; nothing changes;
    - the import is one transaction: if anything fails, nothing is saved;
    - buildings, entrances and households are created as needed; a listed area replaces the stored one;
    - named people become verified members (entered by the chair); a phone already on an
      account links to that person; owners get their unit recorded as owned.

    Raises: NotAllowed, ValidationFailed({"file": "roster_has_errors"}).
    """
    _require(policies.can_manage_members(access))
    if not roster.ok:
        raise ValidationFailed({"file": "roster_has_errors"}, count=len(roster.errors))
    result = _write_roster(session, access.hall_id, actor, roster.rows)
    audit.record(
        session,
        action="halls.import_roster",
        actor_id=actor.id,
        hall_id=access.hall_id,
        subject_type="hall",
        subject_id=access.hall_id,
        data=result.__dict__,
    )
    session.commit()
    return result


def _write_roster(
    session: Session, hall_id: int, actor: User, rows: Sequence[RosterRow]
) -> ImportResult:
    """The rows into the hall's tables (flushed, not committed; no audit)."""
    buildings = {
        b.name: b for b in session.exec(select(Building).where(Building.hall_id == hall_id)).all()
    }
    entrances = {
        (e.building_id, e.name): e
        for e in session.exec(select(Entrance).where(Entrance.hall_id == hall_id)).all()
    }
    households = {
        (h.entrance_id, h.room): h
        for h in session.exec(select(Household).where(Household.hall_id == hall_id)).all()
    }
    phones = {r.phone for r in rows if r.phone}
    users_by_phone = (
        {u.phone: u for u in session.exec(select(User).where(col(User.phone).in_(phones))).all()}
        if phones
        else {}
    )
    members: dict[int, Membership] = {}
    # A person without a phone is known by their household and name: re-importing the same
    # roster must not create them again.
    phoneless: dict[tuple[int | None, str], User] = {}
    for m, u in session.exec(
        select(Membership, User)
        .join(User, col(User.id) == Membership.user_id)
        .where(Membership.hall_id == hall_id)
    ).all():
        members[m.user_id] = m
        if u.phone is None:
            phoneless.setdefault((m.household_id, u.name), u)
    counts = dict.fromkeys(("b", "e", "h", "a", "m", "x"), 0)
    now = clock.now()
    for row in rows:
        building = buildings.get(row.building)
        if building is None:
            building = Building(hall_id=hall_id, name=row.building, sort_key=len(buildings))
            session.add(building)
            session.flush()
            buildings[row.building] = building
            counts["b"] += 1
        entrance = entrances.get((building.id or 0, row.entrance))
        if entrance is None:
            entrance = Entrance(hall_id=hall_id, building_id=building.id or 0, name=row.entrance)
            session.add(entrance)
            session.flush()
            entrances[(building.id or 0, row.entrance)] = entrance
            counts["e"] += 1
        household = households.get((entrance.id or 0, row.room))
        if household is None:
            household = Household(
                hall_id=hall_id,
                entrance_id=entrance.id or 0,
                room=row.room,
                area_centi_m2=row.area_centi_m2,
            )
            session.add(household)  # inserted with the next flush, in one batch
            households[(entrance.id or 0, row.room)] = household
            counts["h"] += 1
        elif row.area_centi_m2 is not None and household.area_centi_m2 != row.area_centi_m2:
            household.area_centi_m2 = row.area_centi_m2
            counts["a"] += 1
        if not row.name or row.relation is None:
            continue
        if household.id is None:
            session.flush()  # a person needs the household's id
        if row.phone:
            user = users_by_phone.get(row.phone)
        else:
            user = phoneless.get((household.id, row.name))
        if user is None:
            user = User(phone=row.phone or None, name=row.name)
            session.add(user)
            session.flush()
            if row.phone:
                users_by_phone[row.phone] = user
            else:
                phoneless[(household.id, row.name)] = user
        membership = members.get(user.id or 0)
        if membership is None:
            membership = Membership(
                hall_id=hall_id,
                user_id=user.id or 0,
                household_id=household.id,
                relation=row.relation,
                status=MembershipStatus.VERIFIED,
                decided_at=now,
                decided_by_id=actor.id,
                entered_by_id=actor.id,
            )
            session.add(membership)
            session.flush()
            members[user.id or 0] = membership
            _add_role(session, membership, Role.RESIDENT)
            counts["m"] += 1
        else:
            counts["x"] += 1
        if row.relation == Relation.OWNER:
            _own_unit(session, membership, household.id or 0)
    session.flush()
    return ImportResult(
        len(rows),
        counts["b"],
        counts["e"],
        counts["h"],
        counts["a"],
        counts["m"],
        counts["x"],
    )


ROSTER_PREVIEW_TTL = timedelta(hours=1)
TOKEN_RE = re.compile(r"[A-Za-z0-9_-]{43}", re.ASCII)  # security.new_token()


class RosterChanged(Conflict):
    """The hall changed between the preview and the confirm: here is the preview as it is now
    (the same token confirms it)."""

    def __init__(self, preview: roster_rules.Preview, token: str) -> None:
        super().__init__("roster_changed")
        self.preview = preview
        self.token = token


@dataclass(frozen=True)
class RosterCheck:
    preview: roster_rules.Preview
    token: str
    expires_at: datetime


def _preview_of(session: Session, hall_id: int, rows: Sequence[RosterRow]) -> roster_rules.Preview:
    state = queries.roster_state(session, hall_id=hall_id)
    return roster_rules.compare(rows, state)


def read_roster(filename: str, data: bytes, *, max_bytes: int) -> ParsedRoster:
    """An uploaded roster file, read and checked row by row (nothing is written).

    Raises: ValidationFailed on "file" when it is empty, too large or no table it can read
    (the row errors are in the result; `preview_roster` refuses a roster with any)."""
    if not data:
        raise ValidationFailed({"file": "file_required"})
    if len(data) > max_bytes:
        raise ValidationFailed({"file": "file_too_large"})
    try:
        return roster_rules.parse_rows(roster_rules.read_table(filename, data))
    except roster_rules.RosterFileError as exc:
        raise ValidationFailed({"file": exc.code}, value=exc.value) from None


def preview_roster(
    *,
    session: Session,
    access: HallAccess,
    actor: User,
    roster: ParsedRoster,
    filename: str,
    content: bytes,
) -> RosterCheck:
    """Check a roster against the hall and keep it for the chair's confirmation.

    Rules:
    - nothing of the hall changes: the preview lists new, changed (area old → new) and
      unchanged rows, and the open owners' ballots whose frozen roll keeps a changed household's
      area; the checked rows wait under a random token for an hour, for this chair only;
    - a roster with any bad row is refused whole (ValidationFailed roster_has_errors).

    Raises: NotAllowed, ValidationFailed({"file": "roster_has_errors"}).
    """
    _require(policies.can_manage_members(access))
    if not roster.ok:
        raise ValidationFailed({"file": "roster_has_errors"}, count=len(roster.errors))
    hall_id = access.hall_id
    preview = _preview_of(session, hall_id, roster.rows)
    now = clock.now()
    # Expired previews hold residents' names and phones: sweep every hall's, not only this one's.
    session.execute(
        delete(RosterUpload).where(col(RosterUpload.created_at) < now - ROSTER_PREVIEW_TTL)
    )
    token = security.new_token()
    session.add(
        RosterUpload(
            hall_id=hall_id,
            token=token,
            uploaded_by_id=actor.id or 0,
            created_at=now,
            filename="".join(c for c in filename if c.isprintable())[:120],
            content_sha256=hashlib.sha256(content).hexdigest(),
            fingerprint=preview.fingerprint,
            rows=roster_rules.rows_to_json(roster.rows),
        )
    )
    session.commit()
    return RosterCheck(preview, token, now + ROSTER_PREVIEW_TTL)


def confirm_roster(
    *, session: Session, access: HallAccess, actor: User, token: str
) -> ImportResult:
    """Import exactly the rows the chair previewed under `token`.

    Rules:
    - only the chair who uploaded, within the hour, once (the upload is deleted on import);
    - if the hall changed since the preview (its fingerprint differs), nothing is imported and
      the new preview is returned with the same token, to be confirmed again;
    - the import is one transaction with one audit event, as halls.import_roster.

    Raises: NotAllowed, ValidationFailed({"file": "roster_preview_expired"}), RosterChanged.
    """
    _require(policies.can_manage_members(access))
    hall_id = access.hall_id
    if not TOKEN_RE.fullmatch(token):  # also keeps NUL and the like away from the database
        raise ValidationFailed({"file": "roster_preview_expired"})
    upload = session.exec(
        select(RosterUpload)
        .where(
            RosterUpload.hall_id == hall_id,
            RosterUpload.token == token,
            RosterUpload.uploaded_by_id == actor.id,
        )
        .with_for_update()
    ).first()
    if upload is None or clock.now() - upload.created_at > ROSTER_PREVIEW_TTL:
        raise ValidationFailed({"file": "roster_preview_expired"})
    rows = roster_rules.rows_from_json(upload.rows)
    preview = _preview_of(session, hall_id, rows)
    if preview.fingerprint != upload.fingerprint:
        upload.fingerprint = preview.fingerprint
        session.add(upload)
        session.commit()
        raise RosterChanged(preview, token)
    result = _write_roster(session, hall_id, actor, rows)
    session.delete(upload)
    audit.record(
        session,
        action="halls.import_roster",
        actor_id=actor.id,
        hall_id=hall_id,
        subject_type="hall",
        subject_id=hall_id,
        data={**result.__dict__, "file_sha256": upload.content_sha256},
    )
    session.commit()
    return result


def update_hall_settings(
    *, session: Session, access: HallAccess, actor: User, hall: Hall, form: schemas.SettingsForm
) -> Hall:
    """The chair changes the hall's rules (thresholds, periods, weights).

    Raises: NotAllowed, ValidationFailed with a code per field; nothing is saved on error.
    """
    _require(policies.can_edit_settings(access))
    numbers, errors = schemas.parse_settings(form)
    office_phone, phone_error = schemas.parse_office_phone(form.office_phone)
    if phone_error:
        errors["office_phone"] = phone_error
    if errors:
        raise ValidationFailed(errors)
    db_hall = session.get(Hall, hall.id)
    assert db_hall is not None
    values: dict[str, object] = {**numbers, "office_phone": office_phone}
    changed = {k: [getattr(db_hall, k), v] for k, v in values.items() if getattr(db_hall, k) != v}
    if "office_phone" in changed:
        # The audit chain keeps no phone number whole (it cannot be taken out again), even a
        # public one: the record says that it changed, masked.
        changed["office_phone"] = [_masked_number(n) for n in changed["office_phone"]]
    for key, value in values.items():
        setattr(db_hall, key, value)
    audit.record(
        session,
        action="halls.update_hall_settings",
        actor_id=actor.id,
        hall_id=db_hall.id,
        subject_type="hall",
        subject_id=db_hall.id,
        data={"changed": changed},
    )
    session.commit()
    return db_hall


def _masked_number(number: object) -> str:
    """An office number for the audit record: its last four digits only ("" stays "")."""
    digits = "".join(c for c in str(number) if c.isdigit())
    return f"****{digits[-4:]}" if digits else ""


def set_member_roles(
    *,
    session: Session,
    access: HallAccess,
    actor: User,
    membership_id: int,
    form: schemas.RolesForm,
) -> Membership:
    """The chair sets a verified member's roles in this hall.

    Rules: only verified members hold roles; every member keeps 居民; a chair cannot remove
    their own chair role (a hall must not lose its last chair by accident).
    Raises: NotAllowed, NotFound, Conflict("member_not_verified"), ValidationFailed.
    """
    _require(policies.can_manage_members(access))
    membership = queries.get_membership(
        session, hall_id=access.hall_id, membership_id=membership_id
    )
    if membership is None:
        raise NotFound("member_unknown")
    if membership.status != MembershipStatus.VERIFIED:
        raise Conflict("member_not_verified")
    wanted = set(form.roles) | {Role.RESIDENT}
    if membership.user_id == actor.id and Role.CHAIR not in wanted and access.is_chair:
        raise ValidationFailed({"roles": "cannot_drop_own_chair"})
    current = {
        r.role: r
        for r in session.exec(
            select(MembershipRole).where(MembershipRole.membership_id == membership.id)
        ).all()
    }
    for role in wanted - current.keys():
        session.add(
            MembershipRole(hall_id=access.hall_id, membership_id=membership.id or 0, role=role)
        )
    for role in current.keys() - wanted:
        session.delete(current[role])
    audit.record(
        session,
        action="halls.set_member_roles",
        actor_id=actor.id,
        hall_id=access.hall_id,
        subject_type="membership",
        subject_id=membership.id,
        data={"roles": sorted(r.value for r in wanted)},
    )
    session.commit()
    return membership


def appoint_chair(
    *, session: Session, access: HallAccess, actor_id: int | None, hall: Hall, user: User
) -> Membership:
    """Make someone a chair (主持人) of a hall: by the platform admin (CLI) or an existing chair.

    Rules: the person becomes a verified member of the hall if not already one.
    Raises: NotAllowed.
    """
    _require(access.is_platform_admin or access.is_chair)
    membership = session.exec(
        select(Membership).where(Membership.hall_id == hall.id, Membership.user_id == user.id)
    ).first()
    now = clock.now()
    if membership is None:
        membership = Membership(
            hall_id=hall.id or 0,
            user_id=user.id or 0,
            status=MembershipStatus.VERIFIED,
            decided_at=now,
            decided_by_id=actor_id,
        )
        session.add(membership)
        session.flush()
    elif membership.status != MembershipStatus.VERIFIED:
        membership.status = MembershipStatus.VERIFIED
        membership.decided_at = now
        membership.decided_by_id = actor_id
    _add_role(session, membership, Role.RESIDENT)
    _add_role(session, membership, Role.CHAIR)
    audit.record(
        session,
        action="halls.appoint_chair",
        actor_id=actor_id,
        hall_id=hall.id,
        subject_type="membership",
        subject_id=membership.id,
        data={"user_id": user.id},
    )
    session.commit()
    return membership
