"""协商会议 use cases. Each public function owns its transaction and writes the audit event.

One module per part of a meeting's life, named after what the user does:

- scheduling: schedule, cancel, and sign in (the QR on one's own phone, or the chair's ticks)
- minutes: the 会议纪要 — absences with reasons, the typed parts, the two signatures that
  freeze it, and the 更正 after
- live: the meeting as it is held (open and close it, the current item, the speaker queue,
  the recorder's speeches)
- rescheduling: move a meeting (time, place) and send the notice again

`from app.meetings import service; service.schedule_meeting(...)` is the way in; the modules
are where each use case lives.
"""

from app.meetings.service.live import (
    Hand,
    add_speaker,
    close_ballot,
    edit_speech,
    end_meeting,
    give_floor,
    lower_hand,
    move_speaker,
    open_ballot,
    raise_hand,
    record_speech,
    set_current_item,
    start_meeting,
    withdraw,
)
from app.meetings.service.minutes import (
    append_correction,
    edit_minutes,
    record_absence,
    sign_minutes,
)
from app.meetings.service.rescheduling import reschedule_meeting
from app.meetings.service.scheduling import (
    SignIn,
    cancel_meeting,
    schedule_meeting,
    sign_in_by_chair,
    sign_in_self,
)

__all__ = [
    "Hand",
    "SignIn",
    "add_speaker",
    "append_correction",
    "cancel_meeting",
    "close_ballot",
    "edit_minutes",
    "edit_speech",
    "end_meeting",
    "give_floor",
    "lower_hand",
    "move_speaker",
    "open_ballot",
    "raise_hand",
    "record_absence",
    "record_speech",
    "reschedule_meeting",
    "schedule_meeting",
    "set_current_item",
    "sign_in_by_chair",
    "sign_in_self",
    "sign_minutes",
    "start_meeting",
    "withdraw",
]
