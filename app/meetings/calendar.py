"""A meeting as a calendar file (.ics, RFC 5545), for "加入手机日历". Pure: plain values in, the
file's bytes out (the route gathers them).

- One VEVENT with a UID that never changes for the meeting (its id and the time it was
  created), so a phone that imported it once updates that event rather than adding another.
- SEQUENCE is the notice's number less one (`notice_count - 1`): 0 when scheduled, one more
  for each reschedule, so the phone takes the moved time or place as the newer version.
- Times in UTC (…Z): every calendar shows them in the phone's own zone.
- SUMMARY the title, LOCATION the place, DESCRIPTION the agenda and the meeting's page on the
  public origin (also as URL).
- A cancelled meeting: METHOD:CANCEL and STATUS:CANCELLED (with the same UID and SEQUENCE), so
  importing it again takes the event off the calendar; no alarm.
- Otherwise METHOD:PUBLISH, STATUS:CONFIRMED and a VALARM a day before the start.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import icalendar

PRODID = "-//yishiting//meetings//ZH"
ALARM_BEFORE = timedelta(days=1)


@dataclass(frozen=True)
class Event:
    meeting_id: int
    created_at: datetime
    title: str
    place: str
    starts_at: datetime
    ends_at: datetime
    description: str  # the agenda and the page's link, as the route words them
    url: str  # the meeting's page, on the public origin
    notice_count: int
    cancelled: bool
    alarm_text: str  # what the phone says a day before
    stamp: datetime  # when the file is made (DTSTAMP)


def uid(meeting_id: int, created_at: datetime) -> str:
    """The meeting's UID: the same in every file made of it, whatever changes."""
    return f"meeting-{meeting_id}-{created_at.astimezone(UTC):%Y%m%dT%H%M%S}@yishiting"


def sequence(notice_count: int) -> int:
    return max(notice_count - 1, 0)


def _utc(at: datetime) -> datetime:
    """In UTC, to the second (what an .ics time holds)."""
    return at.astimezone(UTC).replace(microsecond=0)


def ics(event: Event) -> bytes:
    """The calendar file of one meeting."""
    calendar = icalendar.Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", "CANCEL" if event.cancelled else "PUBLISH")
    vevent = icalendar.Event()
    vevent.add("uid", uid(event.meeting_id, event.created_at))
    vevent.add("sequence", sequence(event.notice_count))
    vevent.add("dtstamp", _utc(event.stamp))
    vevent.add("dtstart", _utc(event.starts_at))
    vevent.add("dtend", _utc(event.ends_at))
    vevent.add("summary", event.title)
    vevent.add("location", event.place)
    vevent.add("description", event.description)
    vevent.add("url", event.url)
    vevent.add("status", "CANCELLED" if event.cancelled else "CONFIRMED")
    if not event.cancelled:
        alarm = icalendar.Alarm()
        alarm.add("action", "DISPLAY")
        alarm.add("trigger", -ALARM_BEFORE)
        alarm.add("description", event.alarm_text)
        vevent.add_component(alarm)
    calendar.add_component(vevent)
    return bytes(calendar.to_ical())
