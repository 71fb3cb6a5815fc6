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
from app.issues.models import (
    Comment,
    CommentReport,
    ConsultationOpinion,
    Cosign,
    Issue,
    IssuePhoto,
    Notification,
    Solution,
    StageEvent,
)

__all__ = [
    "AuditEvent",
    "Building",
    "Comment",
    "CommentReport",
    "ConsultationOpinion",
    "Cosign",
    "Entrance",
    "Hall",
    "Household",
    "Issue",
    "IssuePhoto",
    "LoginFailure",
    "Membership",
    "MembershipRole",
    "Notification",
    "Solution",
    "StageEvent",
    "Street",
    "StreetAdmin",
    "UnitOwnership",
    "User",
    "UserSession",
]
