"""民决 use cases. Each public function owns its transaction and writes the audit event.

Votes themselves are recorded in the ballot's own hash-chained ledger, in the same transaction
as the vote row (LOG-06): the ledger is the audit record of every cast, re-cast, in-person
vote, paper entry, void, open and close. Chair actions are also written to the hall's audit
trail.

One module per use case, named after what the user does on the page they see:

- drafting: 发起表决 (create_ballot)
- opening: freeze the electorate and open voting (open_ballot)
- casting: a voter votes on the phone (cast_vote), and what every channel shares (Receipt)
- phone_votes: the same for a batch of phone votes in one transaction (cast_votes, the
  ballot box's group commit: app/voting/ballot_box.py)
- meeting: the chair on the roll page: in-person votes, attendance (实到), voids
- paper: 纸质票 — print, enter (计票人), confirm (监票人)
- closing: close and 决议, 协商一致, after a failed vote
- publicity: 公示 — 异议 and their answers, the end of the 公示 (by the chair, or by the
  periodic job once the period is over with no 异议 open or upheld: end_due_publicities)
- reminding: the periodic job's reminder to those who have not voted (remind_due_voters)
- _common: the helpers they share (loading under lock, refusals, the ledger append)

`from app.voting import service; service.cast_vote(...)` is the way in; the modules are where
each use case lives.
"""

from app.voting.rules import MEETING_RULES
from app.voting.service.casting import Receipt, cast_vote
from app.voting.service.closing import close_ballot, record_consensus, settle_failed
from app.voting.service.drafting import create_ballot
from app.voting.service.meeting import record_attendance, record_in_person, void_vote
from app.voting.service.opening import open_ballot
from app.voting.service.paper import (
    confirm_paper,
    enter_paper,
    issue_paper_ballots,
    normalise_code,
)
from app.voting.service.phone_votes import PhoneVote, cast_votes
from app.voting.service.publicity import (
    answer_objection,
    end_due_publicities,
    end_publicity,
    file_objection,
)
from app.voting.service.reminding import remind_due_voters

__all__ = [
    "MEETING_RULES",
    "PhoneVote",
    "Receipt",
    "answer_objection",
    "cast_vote",
    "cast_votes",
    "close_ballot",
    "confirm_paper",
    "create_ballot",
    "end_due_publicities",
    "end_publicity",
    "enter_paper",
    "file_objection",
    "issue_paper_ballots",
    "normalise_code",
    "open_ballot",
    "record_attendance",
    "record_consensus",
    "record_in_person",
    "remind_due_voters",
    "settle_failed",
    "void_vote",
]
