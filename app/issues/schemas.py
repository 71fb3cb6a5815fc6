"""Inputs for issues.

Strings are `Text` and ids `Id` (app/core/fields.py): what no column can hold is refused at the
edge. Otherwise strings stay raw, so that a bad length or format comes back to its field with a
message from the service."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from app.core.fields import FEN_MAX, Id, Text
from app.issues.models import Category, Scope, Source, Stance

TITLE_MAX = 60
BODY_MAX = 5000
COMMENT_MAX = 2000
REASON_MAX = 200
MAX_PHOTOS = 6


class ProposeForm(BaseModel):
    model_config = ConfigDict(extra="ignore")

    title: Text = ""
    description: Text = ""
    category: Category | None = None
    scope: Scope = Scope.HALL
    scope_building_id: Id | None = None
    scope_entrance_id: Id | None = None
    location: Text = ""


class OnBehalfIssueForm(ProposeForm):
    """The chair enters an issue from paper, a phone call or a 12345 work order."""

    source: Source = Source.PAPER
    work_order_no: Text = ""


class AcceptForm(BaseModel):
    model_config = ConfigDict(extra="ignore")

    deliberation_days: Text = ""  # optional deadline, in days from now


class ReasonForm(BaseModel):
    model_config = ConfigDict(extra="ignore")

    reason: Text = ""


class MergeForm(BaseModel):
    model_config = ConfigDict(extra="ignore")

    target_id: Id | None = None


class CommentForm(BaseModel):
    model_config = ConfigDict(extra="ignore")

    body: Text = ""
    stance: Stance = Stance.NEUTRAL
    parent_id: Id | None = None


class EditCommentForm(BaseModel):
    model_config = ConfigDict(extra="ignore")

    body: Text = ""


class SolutionForm(BaseModel):
    model_config = ConfigDict(extra="ignore")

    title: Text = ""
    description: Text = ""
    estimated_cost: Text = ""  # yuan, up to 2 decimals; stored exactly in 分


class CloseForm(BaseModel):
    model_config = ConfigDict(extra="ignore")

    agreements: Text = ""
    disagreements: Text = ""
    solution_ids: list[Id] = []


def text_problem(value: str, *, maximum: int, required: bool = True) -> str | None:
    value = value.strip()
    if required and not value:
        return "required"
    if len(value) > maximum:
        return "too_long"
    return None


def parse_yuan(raw: str) -> int | None:
    """'12.5' -> 1250 分; None when not a non-negative amount with at most 2 decimals."""
    text = raw.strip().replace(",", "").removeprefix("¥").removesuffix("元").strip()
    whole, _, frac = text.partition(".")
    if not whole.isascii() or not whole.isdigit() or len(whole) > 10:
        return None
    if frac and (not frac.isascii() or not frac.isdigit() or len(frac) > 2):
        return None
    fen = int(whole) * 100 + int(frac.ljust(2, "0") or "0")
    return fen if fen <= FEN_MAX else None
