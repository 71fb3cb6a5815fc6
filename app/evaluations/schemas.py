"""Inputs of 民评: a resident's answer on the phone, a recorder's entry from a paper form.

Strings are `Text` (app/core/fields.py); a choice that is not one of the offered ones is a
field error with a message from the service, next to its field."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from app.core.fields import Id, Text

COMMENT_MAX = 500


class AnswerForm(BaseModel):
    """满意 / 基本满意 / 不满意 (required on the phone), 是否解决 (是 / 否), a comment."""

    model_config = ConfigDict(extra="ignore")

    satisfaction: Text = ""  # satisfied | basic | dissatisfied
    resolved: Text = ""  # yes | no
    comment: Text = ""


class PaperAnswerForm(AnswerForm):
    """A paper form entered by the chair or a 记录员 for one member: either choice may be blank."""

    membership_id: Id | None = None
