"""协商会议 use cases. Each public function owns its transaction and writes the audit event.

One module per part of a meeting's life, named after what the user does:

- scheduling: schedule, cancel, and sign in (the QR on one's own phone, or the chair's ticks)
- minutes: the 会议纪要 — absences with reasons, the typed parts, the two signatures that
  freeze it, and the 更正 after

`from app.meetings import service; service.schedule_meeting(...)` is the way in; the modules
are where each use case lives.
"""

from app.meetings.service.minutes import (
    append_correction,
    edit_minutes,
    record_absence,
    sign_minutes,
)
from app.meetings.service.scheduling import (
    SignIn,
    cancel_meeting,
    schedule_meeting,
    sign_in_by_chair,
    sign_in_self,
)

__all__ = [
    "SignIn",
    "append_correction",
    "cancel_meeting",
    "edit_minutes",
    "record_absence",
    "schedule_meeting",
    "sign_in_by_chair",
    "sign_in_self",
    "sign_minutes",
]
