"""Registry of every table, for Alembic and the mapper."""

from app.accounts.models import LoginFailure, User, UserSession
from app.audit.models import AuditEvent
from app.halls.models import (
    Building,
    Entrance,
    Hall,
    Household,
    Membership,
    MembershipRole,
    Street,
    StreetAdmin,
    UnitOwnership,
)

__all__ = [
    "AuditEvent",
    "Building",
    "Entrance",
    "Hall",
    "Household",
    "LoginFailure",
    "Membership",
    "MembershipRole",
    "Street",
    "StreetAdmin",
    "UnitOwnership",
    "User",
    "UserSession",
]
