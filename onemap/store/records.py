"""What the store answers: users, pushed projects, filings, their events, and pages of them.

Every record is a frozen dataclass with ``to_dict()`` giving the JSON shape of the HTTP API
(DESIGN §8, issue 15), so phase 2 serialises records without knowing the tables.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from onemap.procedure.workdays import is_workday
from onemap.store.machine import allowed_actions

T = TypeVar("T")
DUE_SOON_WORKDAYS = 1  # a referral is "due soon" on its last working day or the one before


@dataclass(frozen=True)
class User:
    """A user of the filing desk; ``role`` is applicant, reviewer or admin."""

    id: int
    name: str
    role: str
    created: str

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "role": self.role, "created": self.created}


@dataclass(frozen=True)
class ProjectRecord:
    """A project pushed by the project approval platform (policy item 1)."""

    id: int
    project_id: str
    name: str
    requested_kw: float
    category: str
    status: str
    submitted: str
    geometry: dict[str, Any]
    properties: dict[str, Any]
    proposal: dict[str, Any] | None
    pushed_by: str | None
    created: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "project_id": self.project_id,
            "name": self.name,
            "requested_kw": self.requested_kw,
            "category": self.category,
            "status": self.status,
            "submitted": self.submitted,
            "geometry": self.geometry,
            "properties": self.properties,
            "proposal": self.proposal,
            "pushed_by": self.pushed_by,
            "created": self.created,
        }


@dataclass(frozen=True)
class Event:
    """One row of a filing's append-only history."""

    id: int
    filing_id: str
    action: str
    actor: str
    role: str
    at: str
    status_before: str | None
    status_after: str
    note: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "filing_id": self.filing_id,
            "action": self.action,
            "actor": self.actor,
            "role": self.role,
            "at": self.at,
            "status_before": self.status_before,
            "status_after": self.status_after,
            "note": self.note,
        }


def workdays_between(start: dt.date, end: dt.date) -> int:
    """Working days after ``start`` up to and including ``end`` (negative when end < start)."""
    if end < start:
        return -workdays_between(end, start)
    day, n = start, 0
    while day < end:
        day += dt.timedelta(days=1)
        n += is_workday(day)[0]
    return n


@dataclass(frozen=True)
class Filing:
    """A filing application (备案) as stored: the frozen verdict and its current status."""

    id: int
    number: str
    status: str
    eligible: bool
    voltage_kv: float
    route: dict[str, Any]
    verdict: dict[str, Any]
    applicant: dict[str, Any]
    project_id: str | None
    note: str
    rules_id: str
    rules_version: str
    map_hash: str
    map_built: str | None
    submitted: str
    submitted_at: str
    submitted_by: str
    approval_workdays: int | None
    approval_deadline: str | None
    deadline_provisional: bool
    permits: list[str] = field(default_factory=list)
    updated_at: str = ""

    @property
    def awaiting_decision(self) -> bool:
        """A referral not yet accepted, returned or withdrawn: its deadline runs."""
        return self.status == "referred" and self.approval_deadline is not None

    def deadline_state(self, today: dt.date | None = None) -> str | None:
        """``overdue``, ``due_soon`` (≤ 1 working day left), ``on_time``, or None when no
        deadline runs (not referred, or above the voltage with a statutory deadline)."""
        if not self.awaiting_decision:
            return None
        today = today or dt.date.today()
        deadline = dt.date.fromisoformat(self.approval_deadline or "")
        if today > deadline:
            return "overdue"
        left = workdays_between(today, deadline)
        return "due_soon" if left <= DUE_SOON_WORKDAYS else "on_time"

    def to_dict(self, today: dt.date | None = None) -> dict[str, Any]:
        deadline = None
        if self.approval_deadline is not None:
            deadline = {
                "date": self.approval_deadline,
                "workdays": self.approval_workdays,
                "provisional": self.deadline_provisional,
            }
        return {
            "filing_id": self.number,
            "status": self.status,
            "eligible": self.eligible,
            "voltage_kv": self.voltage_kv,
            "route": self.route,
            "verdict": self.verdict,
            "applicant": self.applicant,
            "project_id": self.project_id,
            "note": self.note,
            "rules": {"id": self.rules_id, "version": self.rules_version},
            "map": {"hash": self.map_hash, "built": self.map_built},
            "submitted": self.submitted,
            "submitted_at": self.submitted_at,
            "submitted_by": self.submitted_by,
            "permits": self.permits,
            "approval_deadline": deadline,
            "deadline_state": self.deadline_state(today),
            "allowed_actions": allowed_actions(self.status),
            "updated_at": self.updated_at,
        }


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of a listing and the total number of matches."""

    items: list[T]
    total: int
    limit: int
    offset: int

    def to_dict(self, **kwargs: Any) -> dict[str, Any]:
        return {
            "items": [item.to_dict(**kwargs) for item in self.items],  # type: ignore[attr-defined]
            "total": self.total,
            "limit": self.limit,
            "offset": self.offset,
        }
