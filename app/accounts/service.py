"""Use cases for accounts: register, log in and out, preferences, passwords."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import delete, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, func, select

from app.accounts import schemas
from app.accounts.models import LoginFailure, User, UserSession
from app.audit import service as audit
from app.config import Settings
from app.core import clock, security
from app.core.errors import NotAllowed, TooManyAttempts, ValidationFailed
from app.halls.models import Membership, MembershipRole, MembershipStatus, Role, StreetAdmin


@dataclass(frozen=True)
class LoginResult:
    user: User
    token: str


def register_user(*, session: Session, form: schemas.RegisterForm) -> LoginResult:
    """Create a resident account and log it in.

    Rules:
    - the phone is a mainland mobile number (^1[3-9]\\d{9}$) and is unique;
    - the name is 1–40 characters; the password 8–128, not a common one, kept as typed;
    - the privacy notice must be accepted; its version and the time are stored (PIPL art. 14);
    - a phone the chair entered without a password can be claimed; that person's
      memberships then wait for the chair again.

    Raises: ValidationFailed with a code per field.
    """
    errors = {
        field: problem
        for field, problem in (
            ("phone", schemas.phone_problem(form.phone)),
            ("name", schemas.name_problem(form.name)),
            ("password", schemas.password_problem(form.password)),
            ("consent", None if form.consent else "consent_required"),
        )
        if problem
    }
    if errors:
        raise ValidationFailed(errors)
    now = clock.now()
    claimed = 0
    user = session.exec(select(User).where(User.phone == form.phone)).first()
    if user is not None and user.password_hash is None:
        # The chair entered this phone (代录 or roster) before the person registered. They
        # may claim the account, but its memberships go back to the chair for confirmation:
        # without an SMS check, knowing a neighbour's number must not be enough.
        user.password_hash = security.hash_password(form.password)
        user.consent_version = schemas.PRIVACY_VERSION
        user.consent_at = now
        claimed = session.exec(
            update(Membership)
            .where(
                col(Membership.user_id) == user.id,
                col(Membership.status) == MembershipStatus.VERIFIED,
            )
            .values(status=MembershipStatus.PENDING, decided_at=None, decided_by_id=None)
        ).rowcount
    elif user is not None:
        raise ValidationFailed({"phone": "phone_taken"})
    else:
        user = User(
            phone=form.phone,
            name=form.name.strip(),
            password_hash=security.hash_password(form.password),
            consent_version=schemas.PRIVACY_VERSION,
            consent_at=now,
        )
        session.add(user)
    try:
        session.flush()
    except IntegrityError:
        session.rollback()
        raise ValidationFailed({"phone": "phone_taken"}) from None
    assert user.id is not None
    audit.record(
        session,
        action="accounts.register_user",
        actor_id=user.id,
        hall_id=None,
        subject_type="user",
        subject_id=user.id,
        data={"consent_version": schemas.PRIVACY_VERSION, "claimed_memberships": claimed},
    )
    token = _open_session(session, user, privileged=False)
    session.commit()
    return LoginResult(user=user, token=token)


def _open_session(session: Session, user: User, *, privileged: bool) -> str:
    """Store a new session (only the token's hash) and return the token for the cookie."""
    now = clock.now()
    token = security.new_token()
    session.add(
        UserSession(
            token_hash=security.sha256_hex(token),
            user_id=user.id or 0,
            privileged=privileged,
            created_at=now,
            last_seen_at=now,
        )
    )
    return token


def _failures_since(session: Session, key_hash: str, since: object) -> int:
    return session.exec(
        select(func.count())
        .select_from(LoginFailure)
        .where(LoginFailure.key_hash == key_hash, col(LoginFailure.at) >= since)
    ).one()


def _is_privileged(session: Session, user: User) -> bool:
    if user.is_platform_admin:
        return True
    chair = session.exec(
        select(MembershipRole.id)
        .join(Membership, col(Membership.id) == MembershipRole.membership_id)
        .where(
            Membership.user_id == user.id,
            Membership.status == MembershipStatus.VERIFIED,
            MembershipRole.role == Role.CHAIR,
        )
        .limit(1)
    ).first()
    street = session.exec(
        select(StreetAdmin.id).where(StreetAdmin.user_id == user.id).limit(1)
    ).first()
    return chair is not None or street is not None


def log_in(
    *,
    session: Session,
    settings: Settings,
    form: schemas.LoginForm,
    client_ip: str,
    replacing: UserSession | None = None,
) -> LoginResult:
    """Check a phone and password and open a new server-side session.

    Rules:
    - an unknown phone and a wrong password give the same error and cost the same time;
    - failures are counted in the database per account and per client address; past the
      limit within the window, even a correct password waits (AUTH-03);
    - a new random token is issued at every login (no session fixation), and the session the
      browser had before (`replacing`, a re-login) ends (SESS-02).

    Raises: TooManyAttempts, ValidationFailed({"phone": "login_failed"}), or
    ValidationFailed({"phone": "phone_invalid"}) for what cannot be a phone number at all (it
    tells nothing about any account, so it is safe to say which part was wrong).
    """
    if form.phone and schemas.phone_problem(form.phone):
        raise ValidationFailed({"phone": "phone_invalid"})
    now = clock.now()
    since = now - timedelta(seconds=settings.login_window_seconds)
    account_key = security.sha256_hex("account:" + form.phone)
    ip_key = security.sha256_hex("ip:" + client_ip)
    if (
        _failures_since(session, account_key, since) >= settings.login_max_failures_per_account
        or _failures_since(session, ip_key, since) >= settings.login_max_failures_per_ip
    ):
        raise TooManyAttempts("too_many_attempts", minutes=settings.login_window_seconds // 60)
    user = (
        session.exec(select(User).where(User.phone == form.phone)).first() if form.phone else None
    )
    if (
        not security.verify_password(user.password_hash if user else None, form.password)
        or user is None
    ):
        session.add(LoginFailure(key_hash=account_key, at=now))
        session.add(LoginFailure(key_hash=ip_key, at=now))
        session.commit()
        raise ValidationFailed({"phone": "login_failed"})
    assert user.id is not None
    assert user.password_hash is not None
    if security.needs_rehash(user.password_hash):
        user.password_hash = security.hash_password(form.password)
    session.exec(delete(LoginFailure).where(col(LoginFailure.key_hash) == account_key))
    if replacing is not None:
        session.exec(delete(UserSession).where(col(UserSession.id) == replacing.id))
    token = _open_session(session, user, privileged=_is_privileged(session, user))
    audit.record(
        session,
        action="accounts.log_in",
        actor_id=user.id,
        hall_id=None,
        subject_type="user",
        subject_id=user.id,
    )
    session.commit()
    return LoginResult(user=user, token=token)


def log_out(*, session: Session, user_session: UserSession) -> None:
    """End a session: its token is dead from now on, wherever it is replayed."""
    session.exec(delete(UserSession).where(col(UserSession.id) == user_session.id))
    audit.record(
        session,
        action="accounts.log_out",
        actor_id=user_session.user_id,
        hall_id=None,
        subject_type="user",
        subject_id=user_session.user_id,
    )
    session.commit()


# Built once: every request runs this lookup, and building a statement costs more than running it.
def set_preferences(
    *, session: Session, user: User, elder_mode: bool | None = None, locale: str | None = None
) -> User:
    """Remember the 适老化 mode and the language for this person."""
    db_user = session.get(User, user.id)
    assert db_user is not None
    changed: dict[str, object] = {}
    if elder_mode is not None and elder_mode != db_user.elder_mode:
        db_user.elder_mode = elder_mode
        changed["elder_mode"] = elder_mode
    if locale is not None and locale != db_user.locale:
        db_user.locale = locale
        changed["locale"] = locale
    if changed:
        audit.record(
            session,
            action="accounts.set_preferences",
            actor_id=db_user.id,
            hall_id=None,
            subject_type="user",
            subject_id=db_user.id,
            data=changed,
        )
        session.commit()
    return db_user


def change_password(
    *, session: Session, user: User, current_password: str, new_password: str
) -> User:
    """Replace the password; other sessions of this person end.

    Raises: ValidationFailed on a wrong current password or a weak new one.
    """
    db_user = session.get(User, user.id)
    assert db_user is not None
    assert db_user.id is not None
    if not security.verify_password(db_user.password_hash, current_password):
        raise ValidationFailed({"current_password": "password_wrong"})
    problem = schemas.password_problem(new_password)
    if problem:
        raise ValidationFailed({"new_password": problem})
    db_user.password_hash = security.hash_password(new_password)
    db_user.must_change_password = False
    audit.record(
        session,
        action="accounts.change_password",
        actor_id=db_user.id,
        hall_id=None,
        subject_type="user",
        subject_id=db_user.id,
    )
    session.commit()
    return db_user


def create_admin(*, session: Session, phone: str, name: str) -> tuple[User, str]:
    """Create a platform admin with a random one-time password that must be changed.

    Rules: there are no default accounts (AUTH-06); this is the only way to make an admin.
    Raises: ValidationFailed for a bad or taken phone.
    """
    problem = schemas.phone_problem(phone) or schemas.name_problem(name)
    if problem:
        raise ValidationFailed({"phone": problem})
    one_time = security.new_token()[:16]
    user = User(
        phone=phone,
        name=name,
        password_hash=security.hash_password(one_time),
        is_platform_admin=True,
        must_change_password=True,
    )
    session.add(user)
    try:
        session.flush()
    except IntegrityError:
        session.rollback()
        raise ValidationFailed({"phone": "phone_taken"}) from None
    audit.record(
        session,
        action="accounts.create_admin",
        actor_id=None,
        hall_id=None,
        subject_type="user",
        subject_id=user.id,
    )
    session.commit()
    return user, one_time


def require_password_login_allowed(user: User) -> None:
    if user.password_hash is None:
        raise NotAllowed("no_password")
