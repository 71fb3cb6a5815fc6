"""会议纪要 (DOMAIN.md §6.1), as one pure module: the record of a meeting (plain dataclasses the
service reads from the database) becomes the minutes document, a tree of JSON values, and the
document its canonical JSON and sha256.

The document is data, not words: kinds, rules and guest kinds are their enum values, the
quorum and each ballot's checks are `check_data` dicts (app.voting.rules), times are ISO 8601
in Beijing time. The page and the print put it in words (app.meetings.labels, app.voting.labels),
from a draft built now or from the body frozen at sign-off alike, so a signed document reads the
same years later and its hash covers every value printed.

Fields (§6.1): the header (community and hall, issue number 〔year〕第 N 期, the meeting's kind
and title, time, place, 主持人 with their post (their roles), 记录人), 应到 / 实到 with the quorum as a check
(what was needed and the margin, never a rounded figure), the members expected as the list
stood (present, by proxy, or absent with the reason recorded, 未说明 without one), 列席 (guests
signed in, by name and organisation, and invited guests who did not come), the agenda with each
item's source (议题来源) and its speeches in speaking order (speaker, 身份, summary), 表决情况
for each ballot held at the meeting (rule, method, counts, checks, ledger head), 决议事项, the
task table (one task a line "任务 | 责任方 | 期限", optionally "| 配合单位 | 督办人"), 公示安排,
other notes (情况说明, 讨论与协商情况 …), and the two signatures.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from app.meetings import rules
from app.voting.rules import check_data

BEIJING = ZoneInfo("Asia/Shanghai")
SCHEMA = 1  # the document's shape; a frozen body keeps the number it was frozen with

TEXT_MAX = 5000  # each free-text field of the minutes
CORRECTION_MAX = 1000
TASKS_MAX = 50  # lines of the task table
TASK_SEPARATORS = ("|", "｜")


# --- the record ------------------------------------------------------------------------------


@dataclass(frozen=True)
class ExpectedMember:
    """A member 应到: present in person, through a proxy holder, or absent (with the reason
    the chair recorded, if any). `home` is building and entrance with the room masked."""

    name: str
    home: str
    present: bool
    proxy: str | None = None
    reason: str | None = None


@dataclass(frozen=True)
class Guest:
    name: str
    organisation: str
    kind: str  # app.meetings.models.GuestKind value


@dataclass(frozen=True)
class Source:
    """How an agenda item arose (议题来源): an issue's source, proposer and co-signers."""

    kind: str  # app.issues.models.Source value
    proposer: str
    cosigners: int
    work_order: str | None = None


@dataclass(frozen=True)
class Item:
    id: int
    position: int
    title: str
    source: Source | None  # None: a free item (居委会提出)


@dataclass(frozen=True)
class Speech:
    position: int  # in the meeting's speaking order
    item_id: int | None
    speaker: str
    identity: str
    summary: str


@dataclass(frozen=True)
class BallotCount:
    code: str
    label: str
    count: int


@dataclass(frozen=True)
class Ballot:
    """A ballot held at the meeting, as stored: `result` the frozen result (None while open)."""

    id: int
    title: str
    rule: str  # app.voting.rules.RuleKind value
    voter_unit: str
    secret: bool
    status: str
    passed: bool | None
    result: Mapping[str, Any] | None
    counts: Sequence[BallotCount]
    head_hash: str | None
    height: int
    closed_at: datetime | None


@dataclass(frozen=True)
class Resolution:
    ballot_id: int
    title: str  # the ballot's
    text: str
    passed: bool
    publicity_starts_at: datetime | None
    publicity_ends_at: datetime | None


@dataclass(frozen=True)
class Signature:
    name: str
    at: datetime


@dataclass(frozen=True)
class Texts:
    """What is typed (Minutes): 决议事项, 任务分工, 公示安排, 其他."""

    resolutions: str = ""
    tasks: str = ""
    publicity: str = ""
    notes: str = ""


@dataclass(frozen=True)
class Record:
    hall_name: str
    issuer: str
    number: int  # 第 N 期: the meeting's place among the hall's meetings of its year
    meeting_id: int
    kind: rules.MeetingKind
    title: str
    status: str
    starts_at: datetime
    ends_at: datetime
    started_at: datetime | None
    place: str
    chair: str
    chair_roles: Sequence[str]  # the 主持人's roles in the hall (app.halls.models.Role values)
    recorder: str | None
    attendance: rules.Attendance
    expected: Sequence[ExpectedMember]
    guests_present: Sequence[Guest]
    guests_invited: Sequence[Guest]
    agenda: Sequence[Item]
    speeches: Sequence[Speech]
    ballots: Sequence[Ballot]
    texts: Texts
    chair_signature: Signature | None = None
    recorder_signature: Signature | None = None


# --- pieces ----------------------------------------------------------------------------------


def iso(value: datetime | None) -> str | None:
    """Beijing time, ISO 8601 with its offset, to the second."""
    if value is None:
        return None
    return value.astimezone(BEIJING).replace(microsecond=0).isoformat()


@dataclass(frozen=True)
class Task:
    task: str
    owner: str = ""
    deadline: str = ""
    partner: str = ""  # 配合单位
    supervisor: str = ""  # 督办人


def parse_tasks(text: str) -> list[Task]:
    """The task table typed one task a line: "任务 | 责任方 | 期限 [| 配合单位 | 督办人]"
    (a full-width ｜ too). Blank lines are skipped; missing columns stay empty; a sixth column
    and beyond stay in the last."""
    tasks = []
    for line in text.splitlines():
        for sep in TASK_SEPARATORS[1:]:
            line = line.replace(sep, TASK_SEPARATORS[0])
        parts = [p.strip() for p in line.split(TASK_SEPARATORS[0], 4)]
        if not any(parts):
            continue
        parts += [""] * (5 - len(parts))
        tasks.append(Task(*parts))
    return tasks


def prefill_resolutions(resolutions: Sequence[Resolution]) -> str:
    """决议事项 as first offered: one numbered line per 决议 of the meeting's ballots."""
    return "\n".join(f"{i}. {r.text}" for i, r in enumerate(resolutions, start=1))


def prefill_publicity(resolutions: Sequence[Resolution]) -> str:
    """公示安排 as first offered: each 决议's 公示 period, where it has one."""
    lines = []
    for r in resolutions:
        if r.publicity_starts_at is None or r.publicity_ends_at is None:
            continue
        start = r.publicity_starts_at.astimezone(BEIJING)
        end = r.publicity_ends_at.astimezone(BEIJING)
        lines.append(
            f"「{r.title}」的决议自 {start:%Y-%m-%d} 至 {end:%Y-%m-%d} 在居务公开栏和议事厅"
            "线上公示；公示期内居民可在线提出异议，或向社区居委会反映。"
        )
    return "\n".join(lines)


def _guest(g: Guest) -> dict[str, Any]:
    return {"name": g.name, "organisation": g.organisation, "kind": g.kind}


def _absent_guests(record: Record) -> list[Guest]:
    came = {(g.name, g.organisation) for g in record.guests_present}
    return [g for g in record.guests_invited if (g.name, g.organisation) not in came]


def _speech(s: Speech) -> dict[str, Any]:
    return {
        "position": s.position,
        "speaker": s.speaker,
        "identity": s.identity,
        "summary": s.summary,
    }


def _agenda(record: Record) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The items in order, each with its speeches in speaking order; and the speeches noted
    under no item (or an item no longer on the agenda)."""
    by_item: dict[int, list[Speech]] = {item.id: [] for item in record.agenda}
    other: list[Speech] = []
    for s in sorted(record.speeches, key=lambda s: s.position):
        if s.item_id is not None and s.item_id in by_item:
            by_item[s.item_id].append(s)
        else:
            other.append(s)
    items = [
        {
            "position": item.position,
            "title": item.title,
            "source": None
            if item.source is None
            else {
                "kind": item.source.kind,
                "proposer": item.source.proposer,
                "cosigners": item.source.cosigners,
                "work_order": item.source.work_order,
            },
            "speeches": [_speech(s) for s in by_item[item.id]],
        }
        for item in sorted(record.agenda, key=lambda i: i.position)
    ]
    return items, [_speech(s) for s in other]


def _ballot(b: Ballot) -> dict[str, Any]:
    return {
        "id": b.id,
        "title": b.title,
        "rule": b.rule,
        "voter_unit": b.voter_unit,
        "secret": b.secret,
        "status": b.status,
        "passed": b.passed,
        "result": dict(b.result) if b.result is not None else None,
        "counts": [{"code": c.code, "label": c.label, "count": c.count} for c in b.counts],
        "head_hash": b.head_hash,
        "height": b.height,
        "closed_at": iso(b.closed_at),
    }


def _signature(sig: Signature | None) -> dict[str, Any] | None:
    return None if sig is None else {"name": sig.name, "at": iso(sig.at)}


def build(record: Record) -> dict[str, Any]:
    """The minutes document of `record` (see the module docstring), as JSON values."""
    answer = record.attendance
    items, other = _agenda(record)
    year = record.starts_at.astimezone(BEIJING).year
    return {
        "schema": SCHEMA,
        "hall": {"name": record.hall_name, "issuer": record.issuer},
        "number": {"year": year, "n": record.number},
        "meeting": {
            "id": record.meeting_id,
            "kind": record.kind.value,
            "title": record.title,
            "status": record.status,
            "starts_at": iso(record.starts_at),
            "ends_at": iso(record.ends_at),
            "started_at": iso(record.started_at),
            "place": record.place,
        },
        "chair": {"name": record.chair, "roles": list(record.chair_roles)},
        "recorder": None if record.recorder is None else {"name": record.recorder},
        "attendance": {
            "expected": answer.expected,
            "present": answer.present,
            "quorum_needed": answer.quorum_needed,
            "quorum_met": answer.quorum_met,
            "check": check_data(answer.check) if answer.check is not None else None,
        },
        "expected": [
            {"name": m.name, "home": m.home, "present": m.present, "proxy": m.proxy}
            for m in record.expected
        ],
        "absent": [
            {"name": m.name, "home": m.home, "reason": m.reason or None}
            for m in record.expected
            if not m.present
        ],
        "guests": {
            "present": [_guest(g) for g in record.guests_present],
            "absent": [_guest(g) for g in _absent_guests(record)],
        },
        "agenda": items,
        "other_speeches": other,
        "ballots": [_ballot(b) for b in record.ballots],
        "resolutions": record.texts.resolutions,
        "tasks": [
            {
                "task": t.task,
                "owner": t.owner,
                "deadline": t.deadline,
                "partner": t.partner,
                "supervisor": t.supervisor,
            }
            for t in parse_tasks(record.texts.tasks)
        ],
        "publicity": record.texts.publicity,
        "notes": record.texts.notes,
        "signatures": {
            "chair": _signature(record.chair_signature),
            "recorder": _signature(record.recorder_signature),
        },
    }


def canonical(document: Mapping[str, Any]) -> str:
    """One text for one document: keys sorted, no spaces, UTF-8 kept (not \\u-escaped)."""
    return json.dumps(document, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def content_hash(document: Mapping[str, Any]) -> str:
    """sha256 of the canonical JSON: what the audit chain holds for signed minutes."""
    return digest(canonical(document))


def correction_hash(*, minutes_hash: str, position: int, text: str, at: datetime) -> str:
    """A 更正's own hash, chained to the signed minutes it corrects."""
    body = {"minutes": minutes_hash, "position": position, "text": text, "at": iso(at)}
    return digest(canonical(body))
