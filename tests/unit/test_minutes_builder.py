"""The 会议纪要 builder (app/meetings/minutes.py), pure: every field of DOMAIN.md §6.1 is in the
document, the hash is stable across runs and key order and changes with any content, the
task table parses, absentees keep their reasons, the quorum is the exact check."""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime, timedelta
from fractions import Fraction

from app.meetings import minutes, rules
from app.voting import rules as vrules

START = datetime(2026, 12, 10, 11, 0, tzinfo=UTC)  # 19:00 in Beijing


def record(**changes: object) -> minutes.Record:
    outcome = vrules.tally(
        vrules.RuleKind.COUNCIL_MAJORITY,
        (2, 3),
        [vrules.RollVoter(f"u:{i}", 0, i < 2) for i in range(3)],
        {"u:0": "yes", "u:1": "no"},
    )
    base = minutes.Record(
        hall_name="青年湖社区议事厅",
        issuer="青年湖社区居民委员会",
        number=3,
        meeting_id=7,
        kind=rules.MeetingKind.COUNCIL,
        title="楼道堆物清理议事会",
        status="scheduled",
        starts_at=START,
        ends_at=START + timedelta(hours=2),
        started_at=START + timedelta(minutes=5),
        place="社区议事厅",
        chair="王秀英",
        chair_roles=["chair", "resident"],
        recorder="孙立华",
        attendance=rules.attendance(
            rules.MeetingKind.COUNCIL, expected=3, present=2, quorum=Fraction(2, 3)
        ),
        expected=[
            minutes.ExpectedMember("李建国", "1号楼1单元 1**", True),
            minutes.ExpectedMember("赵春梅", "1号楼1单元 2**", True, proxy="李建国"),
            minutes.ExpectedMember("孙立华", "1号楼2单元 1**", False, reason="出差"),
            minutes.ExpectedMember("周大海", "", False),
        ],
        guests_present=[minutes.Guest("张经理", "某某物业公司", "property")],
        guests_invited=[
            minutes.Guest("张经理", "某某物业公司", "property"),
            minutes.Guest("陈代表", "区人大", "deputy"),
        ],
        agenda=[
            minutes.Item(11, 1, "楼道堆物清理方案", minutes.Source("resident", "李建国", 12)),
            minutes.Item(12, 2, "清理时间安排", None),
        ],
        speeches=[
            minutes.Speech(2, 12, "张经理", "物业", "周六上午物业出车。"),
            minutes.Speech(1, 11, "李建国", "居民代表", "堆物影响消防通道。"),
            minutes.Speech(3, None, "刘科长", "街道城管科", "可以配合执法。"),
        ],
        ballots=[
            minutes.Ballot(
                id=5,
                title="清理方案",
                rule="council_majority",
                voter_unit="person",
                secret=True,
                status="closed",
                passed=outcome.passed,
                result=vrules.result_data(outcome),
                counts=[
                    minutes.BallotCount("yes", "同意", 1),
                    minutes.BallotCount("no", "反对", 1),
                ],
                head_hash="a" * 64,
                height=4,
                closed_at=START + timedelta(hours=1),
            )
        ],
        texts=minutes.Texts(
            resolutions="1. 同意周末清理",
            tasks="清理楼道 | 物业 | 12月20日\n\n通知住户｜楼门长｜12月15日｜物业｜王秀英",
            publicity="居务公开栏公示7天",
            notes="多数居民支持。",
        ),
        chair_signature=minutes.Signature("王秀英", START + timedelta(hours=3)),
    )
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


def test_every_field_of_6_1_is_in_the_document() -> None:
    doc = minutes.build(record())
    assert doc["hall"] == {"name": "青年湖社区议事厅", "issuer": "青年湖社区居民委员会"}
    assert doc["number"] == {"year": 2026, "n": 3}
    meeting = doc["meeting"]
    assert meeting["title"] == "楼道堆物清理议事会"
    assert meeting["kind"] == "council"
    assert meeting["starts_at"] == "2026-12-10T19:00:00+08:00"  # Beijing time
    assert meeting["ends_at"] == "2026-12-10T21:00:00+08:00"
    assert meeting["place"] == "社区议事厅"
    assert doc["chair"] == {"name": "王秀英", "roles": ["chair", "resident"]}
    assert doc["recorder"] == {"name": "孙立华"}
    # 应到 / 实到 with the quorum as the exact check: 2 of 3 against ≥ 2/3, needed 2, margin 0
    attendance = doc["attendance"]
    assert (attendance["expected"], attendance["present"]) == (3, 2)
    assert attendance["quorum_needed"] == 2
    assert attendance["check"]["needed"] == 2
    assert attendance["check"]["margin"] == 0
    assert attendance["check"]["threshold"] == "2/3"
    # absentees with reasons; none recorded → None (printed 未说明)
    assert doc["absent"] == [
        {"name": "孙立华", "home": "1号楼2单元 1**", "reason": "出差"},
        {"name": "周大海", "home": "", "reason": None},
    ]
    assert [e["proxy"] for e in doc["expected"]] == [None, "李建国", None, None]
    # 列席: who came, and who was invited but did not
    assert doc["guests"]["present"] == [
        {"name": "张经理", "organisation": "某某物业公司", "kind": "property"}
    ]
    assert [g["name"] for g in doc["guests"]["absent"]] == ["陈代表"]
    # the agenda with its source, speeches in speaking order under their item
    first, second = doc["agenda"]
    assert first["source"] == {
        "kind": "resident",
        "proposer": "李建国",
        "cosigners": 12,
        "work_order": None,
    }
    assert second["source"] is None
    assert [s["speaker"] for s in first["speeches"]] == ["李建国"]
    assert second["speeches"][0] == {
        "position": 2,
        "speaker": "张经理",
        "identity": "物业",
        "summary": "周六上午物业出车。",
    }
    assert [s["speaker"] for s in doc["other_speeches"]] == ["刘科长"]
    # 表决情况 with its checks and the ledger head
    (ballot,) = doc["ballots"]
    assert ballot["head_hash"] == "a" * 64
    assert ballot["result"]["checks"][0]["id"] == "attendance_heads"
    assert [c["count"] for c in ballot["counts"]] == [1, 1]
    assert ballot["passed"] is False  # 1 of 2 present is not more than half
    # typed parts, the task table parsed, the signatures
    assert doc["resolutions"] == "1. 同意周末清理"
    assert doc["tasks"] == [
        {
            "task": "清理楼道",
            "owner": "物业",
            "deadline": "12月20日",
            "partner": "",
            "supervisor": "",
        },
        {
            "task": "通知住户",
            "owner": "楼门长",
            "deadline": "12月15日",
            "partner": "物业",
            "supervisor": "王秀英",
        },
    ]
    assert doc["publicity"] == "居务公开栏公示7天"
    assert doc["notes"] == "多数居民支持。"
    assert doc["signatures"]["chair"] == {"name": "王秀英", "at": "2026-12-10T22:00:00+08:00"}
    assert doc["signatures"]["recorder"] is None


def test_a_forum_has_no_quorum_check() -> None:
    answer = rules.attendance(rules.MeetingKind.FORUM, expected=5, present=1, quorum=Fraction(2, 3))
    doc = minutes.build(record(kind=rules.MeetingKind.FORUM, attendance=answer))
    assert doc["attendance"]["check"] is None
    assert doc["attendance"]["quorum_needed"] is None


def test_the_hash_is_stable_and_changes_with_content() -> None:
    doc = minutes.build(record())
    text = minutes.canonical(doc)
    assert minutes.content_hash(doc) == minutes.content_hash(minutes.build(record()))
    assert minutes.content_hash(json.loads(text)) == minutes.digest(text)  # read back: same
    reordered = dict(reversed(list(doc.items())))
    assert minutes.content_hash(reordered) == minutes.content_hash(doc)
    assert "\\u" not in text  # Chinese kept as UTF-8
    assert len(minutes.content_hash(doc)) == 64
    changed = [
        record(texts=minutes.Texts(resolutions="1. 同意周末清理。")),
        record(place="小院议事厅"),
        record(speeches=record().speeches[:2]),
        record(chair_signature=None),
        record(expected=record().expected[:3]),
    ]
    hashes = {minutes.content_hash(minutes.build(r)) for r in changed}
    assert minutes.content_hash(doc) not in hashes
    assert len(hashes) == len(changed)


def test_tasks_parse_one_a_line() -> None:
    assert minutes.parse_tasks("") == []
    assert minutes.parse_tasks("  \n | | \n") == []
    assert minutes.parse_tasks("只写了任务") == [minutes.Task("只写了任务")]
    (task,) = minutes.parse_tasks("a|b|c|d|e|f")
    assert task == minutes.Task("a", "b", "c", "d", "e|f")


def test_prefills_from_the_resolutions() -> None:
    res = [
        minutes.Resolution(
            5, "清理方案", "「清理方案」经表决通过。", True, START, START + timedelta(days=7)
        ),
        minutes.Resolution(6, "时间", "「时间」经表决未通过。", False, None, None),
    ]
    assert (
        minutes.prefill_resolutions(res) == "1. 「清理方案」经表决通过。\n2. 「时间」经表决未通过。"
    )
    publicity = minutes.prefill_publicity(res)
    assert "「清理方案」的决议自 2026-12-10 至 2026-12-17" in publicity
    assert "「时间」" not in publicity


def test_a_corrections_hash_chains_to_the_minutes() -> None:
    one = minutes.correction_hash(minutes_hash="a" * 64, position=1, text="更正", at=START)
    assert one != minutes.correction_hash(minutes_hash="b" * 64, position=1, text="更正", at=START)
    assert one != minutes.correction_hash(minutes_hash="a" * 64, position=2, text="更正", at=START)
    assert one == minutes.correction_hash(
        minutes_hash="a" * 64, position=1, text="更正", at=START + timedelta(microseconds=5)
    )
