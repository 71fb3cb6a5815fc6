"""Writing and verifying audit events. `record` runs inside the caller's transaction."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping

from sqlalchemy import text
from sqlmodel import Session, col, select

from app.audit import chain
from app.audit.models import AuditEvent
from app.core import clock


def record(
    session: Session,
    *,
    action: str,
    actor_id: int | None,
    hall_id: int | None,
    subject_type: str,
    subject_id: int | None,
    data: Mapping[str, object] | None = None,
) -> AuditEvent:
    """Append one event to the chain, in the caller's transaction (no commit here).

    Rules:
    - the action is `<domain>.<service function>`;
    - data never holds passwords, tokens or unmasked phone numbers;
    - the chain is extended under a lock, so concurrent writers never fork it.
    """
    # Write the caller's pending rows first, so that every row lock is taken before the chain
    # lock: a transaction never waits for a row while holding the chain.
    session.flush()
    bind = session.get_bind()
    if bind.dialect.name == "postgresql":
        # One writer at a time extends the chain; released at commit or rollback.
        session.execute(text("SELECT pg_advisory_xact_lock(727274)"))
    last = session.exec(select(AuditEvent).order_by(col(AuditEvent.id).desc()).limit(1)).first()
    prev_hash = last.hash if last else chain.GENESIS
    height = (last.id if last else 0) + 1
    body = chain.EventBody(
        height=height,
        at=clock.now(),
        hall_id=hall_id,
        actor_id=actor_id,
        action=action,
        subject_type=subject_type,
        subject_id=subject_id,
        data=dict(data or {}),
    )
    event = AuditEvent(
        id=height,
        at=body.at,
        hall_id=hall_id,
        actor_id=actor_id,
        action=action,
        subject_type=subject_type,
        subject_id=subject_id,
        data=json.dumps(body.data, sort_keys=True, ensure_ascii=False),
        prev_hash=prev_hash,
        hash=chain.link_hash(prev_hash, body),
    )
    session.add(event)
    session.flush()
    return event


def _stored(events: Iterator[AuditEvent]) -> Iterator[chain.StoredEvent]:
    for ev in events:
        yield chain.StoredEvent(
            body=chain.EventBody(
                height=ev.id,
                at=ev.at,
                hall_id=ev.hall_id,
                actor_id=ev.actor_id,
                action=ev.action,
                subject_type=ev.subject_type,
                subject_id=ev.subject_id,
                data=json.loads(ev.data),
            ),
            prev_hash=ev.prev_hash,
            hash=ev.hash,
        )


def verify_chain(session: Session) -> chain.Verdict:
    """Recompute the whole chain from the database, streaming in height order."""
    rows = session.exec(
        select(AuditEvent).order_by(col(AuditEvent.id)).execution_options(yield_per=1000)
    )
    return chain.verify(_stored(iter(rows)))
