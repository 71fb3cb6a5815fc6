"""协商会议 use cases. Each public function owns its transaction and writes the audit event.

One module per part of a meeting's life, named after what the user does:

- scheduling: schedule, cancel, and sign in (the QR on one's own phone, or the chair's ticks)
- rescheduling: move a meeting (time, place) and send the notice again

`from app.meetings import service; service.schedule_meeting(...)` is the way in; the modules
are where each use case lives.
"""

from app.meetings.service.rescheduling import reschedule_meeting
from app.meetings.service.scheduling import (
    SignIn,
    cancel_meeting,
    schedule_meeting,
    sign_in_by_chair,
    sign_in_self,
)

__all__ = [
    "SignIn",
    "cancel_meeting",
    "reschedule_meeting",
    "schedule_meeting",
    "sign_in_by_chair",
    "sign_in_self",
]
