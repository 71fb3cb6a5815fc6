"""Inputs for issues. Strings stay raw so that bad input comes back to its field with a message."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from app.issues.models import Category, Scope, Source, Stance

TITLE_MAX = 60
BODY_MAX = 5000
COMMENT_MAX = 2000
REASON_MAX = 200
MAX_PHOTOS = 6


class ProposeForm(BaseModel):
    model_config = ConfigDict(extra="ignore")

    title: str = ""
    description: str = ""
    category: Category | None = None
    scope: Scope = Scope.HALL
    scope_building_id: int | None = None
    scope_entrance_id: int | None = None
    location: str = ""


class OnBehalfIssueForm(ProposeForm):
    """The chair enters an issue from paper, a phone call or a 12345 work order."""

    source: Source = Source.PAPER
    work_order_no: str = ""


class AcceptForm(BaseModel):
    model_config = ConfigDict(extra="ignore")

    deliberation_days: str = ""  # optional deadline, in days from now


class ReasonForm(BaseModel):
    model_config = ConfigDict(extra="ignore")

    reason: str = ""


class MergeForm(BaseModel):
    model_config = ConfigDict(extra="ignore")

    target_id: int | None = None


class CommentForm(BaseModel):
    model_config = ConfigDict(extra="ignore")

    body: str = ""
    stance: Stance = Stance.NEUTRAL
    parent_id: Annotated[int, Field(ge=1, le=2**31 - 1)] | None = None  # an id the DB can hold


class EditCommentForm(BaseModel):
    model_config = ConfigDict(extra="ignore")

    body: str = ""


class SolutionForm(BaseModel):
    model_config = ConfigDict(extra="ignore")

    title: str = ""
    description: str = ""
    estimated_cost: str = ""  # yuan, up to 2 decimals; stored exactly in 分


class CloseForm(BaseModel):
    model_config = ConfigDict(extra="ignore")

    agreements: str = ""
    disagreements: str = ""
    solution_ids: list[Annotated[int, Field(ge=1, le=2**31 - 1)]] = []


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
    return int(whole) * 100 + int(frac.ljust(2, "0") or "0")
