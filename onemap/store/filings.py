"""The filing desk's records (policy items 2 and 6): submit, list, act on, and audit filings.

:class:`FilingDesk` is mixed into :class:`onemap.store.Store`; the state machine it enforces is
:mod:`onemap.store.machine`. A filing number ``BA-<year>-<6 digits>`` (year of the submission
date) is allocated from a per-year counter inside the inserting transaction, so numbers are
unique and readable, and a failed submission allocates none that is ever seen.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from onemap.errors import OnemapInputError
from onemap.messages import msg
from onemap.procedure.workdays import add_workdays
from onemap.rules import Rules, load_rules
from onemap.store import _input as check
from onemap.store.errors import IllegalTransition, NotFound, PermissionDenied, Replay
from onemap.store.machine import (
    OWN_FILING_ONLY,
    STATUSES,
    SUBMIT,
    allowed_actions,
    check_action,
    initial_status,
    may,
    next_status,
)
from onemap.store.records import Event, Filing, Page, User

FILING_PREFIX = "BA"  # 备案
ROUTE_TYPES = ("LineString", "MultiLineString")

_FILING_COLUMNS = (
    "f.id, f.number, f.status, f.eligible, f.voltage_kv, {route}, f.verdict, f.applicant,"
    " f.project_id, f.note, f.rules_id, f.rules_version, f.map_hash, f.map_built,"
    " f.submitted_date, f.submitted_at, u.name, f.approval_workdays, f.approval_deadline,"
    " f.deadline_provisional, f.permits, f.updated_at"
)


def filing_number(year: int, seq: int) -> str:
    """``BA-2026-000042``."""
    return f"{FILING_PREFIX}-{year}-{seq:06d}"


def approval_workdays(rules: Rules, voltage_kv: float) -> int | None:
    """The approval deadline in working days for a voltage (item 2: ≤ 20 kV, 5 days), as
    :func:`onemap.routing.filing.evaluate` computes it; None above the table's voltage."""
    a = rules.approval
    return a.workdays if voltage_kv <= a.max_voltage_kv else None


class FilingDesk:
    """Filing operations of the store (mixin: needs ``backend``, ``_rows``, ``_claim`` …)."""

    backend: Any

    def submit_filing(
        self,
        verdict: dict[str, Any],
        route: dict[str, Any],
        voltage_kv: float,
        applicant: dict[str, Any],
        *,
        user: User,
        rules_id: str,
        rules_version: str,
        map_hash: str,
        map_built: str | None = None,
        project_id: str | None = None,
        note: str = "",
        submitted_date: dt.date | str | None = None,
        key: str | None = None,
        rules: Rules | None = None,
    ) -> tuple[Filing, bool]:
        """Submit a checked route for filing: ``filed`` if the verdict is eligible (works may
        start), else ``referred`` with the approval deadline on the official calendar.

        Parameters
        ----------
        verdict
            The full check-route verdict (``FilingVerdict.to_dict()``), stored frozen; its
            ``eligible`` decides the status and its ``permits`` are kept.
        route
            The route as a GeoJSON LineString/MultiLineString geometry or Feature (EPSG:4326).
        voltage_kv
            Voltage of the works.
        applicant
            {``name``, ``organisation``?, ``phone``?}.
        user
            The submitting user (role applicant or admin); recorded in the history.
        rules_id, rules_version
            The rule table the verdict was made with (``Rules.meta.id`` / ``.version``).
        map_hash, map_built
            The map the verdict was made on (content hash, build time).
        project_id, note
            Optional project link and free text.
        submitted_date
            The submission date (default today); the deadline counts from the day after.
        key
            Client idempotency key: the same key again answers the stored filing.
        rules
            The rule table itself; default: the shipped table ``rules_id``. Its version must be
            ``rules_version``. The deadline uses its ``approval.workdays``.

        Returns
        -------
        (Filing, bool)
            The filing as stored now, and whether this call created it (False on a replay).
        """
        if not may(getattr(user, "role", ""), SUBMIT):
            raise PermissionDenied(
                msg("store.role_cannot_submit", role=getattr(user, "role", None))
            )
        key = check.key(key)
        if not isinstance(verdict, dict) or not isinstance(verdict.get("eligible"), bool):
            raise OnemapInputError(msg("store.verdict_expected"), field="verdict")
        # Encoded once (kilobytes: segments with their geometry): the text stored, and the
        # plain JSON the fingerprint and the returned record are made of.
        verdict_text = check.json_text(verdict, "verdict")
        verdict = json.loads(verdict_text)
        permits = verdict.get("permits") or []
        if not isinstance(permits, list) or not all(isinstance(p, str) for p in permits):
            raise OnemapInputError(msg("store.permits_expected"), field="verdict.permits")
        if not isinstance(applicant, dict):
            raise OnemapInputError(msg("store.contact_expected"), field="applicant")
        applicant = {
            "name": check.text(applicant.get("name"), "applicant.name", max_len=200),
            "organisation": check.text(
                applicant.get("organisation"), "applicant.organisation", required=False
            ),
            "phone": check.text(applicant.get("phone"), "applicant.phone", required=False),
        }
        values = {
            "verdict": verdict,
            "route": check.geometry(route, "route", ROUTE_TYPES),
            "voltage_kv": check.positive(voltage_kv, "voltage_kv"),
            "applicant": applicant,
            "project_id": check.optional_text(project_id, "project_id", max_len=100),
            "note": check.text(note, "note", required=False),
            "rules_id": check.text(rules_id, "rules_id", max_len=200),
            "rules_version": check.text(rules_version, "rules_version", max_len=100),
            "map_hash": check.text(map_hash, "map_hash", max_len=200),
            "map_built": check.optional_text(map_built, "map_built", max_len=100),
            "submitted": check.date(submitted_date, "date"),
        }
        if rules is None:
            rules = load_rules(values["rules_id"])
        if rules.meta.version != values["rules_version"]:
            raise OnemapInputError(
                msg(
                    "store.rules_version",
                    rules_id=rules.meta.id,
                    version=rules.meta.version,
                    given=values["rules_version"],
                ),
                field="rules_version",
            )
        eligible = verdict["eligible"]
        status = initial_status(eligible)
        submitted = dt.date.fromisoformat(values["submitted"])
        workdays = deadline = None
        if not eligible:
            workdays = approval_workdays(rules, values["voltage_kv"])
            deadline = add_workdays(submitted, workdays) if workdays is not None else None
        fingerprint = check.digest(values)
        b = self.backend
        at = _now()
        # The columns of _filing_select as RETURNING gives them (the submitter's id in place
        # of their name, which is user.name; NULL for the verdict, which is verdict_text).
        returned = (
            _FILING_COLUMNS.format(route=b.geom_out("f.route"))
            .replace("u.name", "f.submitted_by")
            .replace("f.verdict", "NULL")
            .replace("f.", "")
        )
        try:
            with b.transaction() as conn:
                self._claim(conn, "filings", key, fingerprint, user)  # type: ignore[attr-defined]
                seq = b.execute(
                    conn,
                    "INSERT INTO filing_sequences (year, last) VALUES (?, 1) ON CONFLICT (year)"
                    " DO UPDATE SET last = filing_sequences.last + 1 RETURNING last",
                    (submitted.year,),
                ).fetchone()[0]
                number = filing_number(submitted.year, int(seq))
                j = b.json_in()
                stored = b.execute(
                    conn,
                    "INSERT INTO filings (number, year, seq, status, eligible, voltage_kv, route,"
                    " verdict, applicant, applicant_name, organisation, project_id, note,"
                    " rules_id, rules_version, map_hash, map_built, submitted_date, submitted_at,"
                    " submitted_by, approval_workdays, approval_deadline, deadline_provisional,"
                    f" permits, updated_at) VALUES (?, ?, ?, ?, ?, ?, {b.geom_in()}, {j}, {j},"
                    f" ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, {j}, ?) RETURNING {returned}",
                    (
                        number, submitted.year, int(seq), status, int(eligible),
                        values["voltage_kv"], check.dumps(values["route"]), verdict_text,
                        check.dumps(applicant), applicant["name"], applicant["organisation"],
                        values["project_id"], values["note"], values["rules_id"],
                        values["rules_version"], values["map_hash"], values["map_built"],
                        values["submitted"], at, user.id, workdays,
                        deadline.date.isoformat() if deadline else None,
                        int(bool(deadline and deadline.provisional)),
                        check.dumps([] if eligible else permits), at,
                    ),
                ).fetchone()  # fmt: skip
                new_id = stored[0]
                self._event(conn, int(new_id), SUBMIT, user, None, status, values["note"], at)
                self._settle(conn, "filings", key, int(new_id))  # type: ignore[attr-defined]
        except Replay:
            replayed = self._replayed("filings", key or "", fingerprint, user)  # type: ignore[attr-defined]
            return self._filing_where("f.id = ?", (replayed,)), False
        # The row as stored, from RETURNING: what a read gives, without a second transaction
        # (the verdict is the text just stored, parsed: JSON columns keep it as written).
        row = (*stored[:6], verdict, *stored[7:16], user.name, *stored[17:])
        return self._filing_record(row), True

    def _event(
        self,
        conn: Any,
        filing_id: int,
        action: str,
        user: User,
        before: str | None,
        after: str,
        note: str,
        at: str,
    ) -> None:
        self.backend.execute(
            conn,
            "INSERT INTO filing_events (filing_id, action, actor_id, actor_name, role, at,"
            " status_before, status_after, note) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (filing_id, action, user.id, user.name, user.role, at, before, after, note),
        )

    # -- reading -------------------------------------------------------------------------------
    def _filing_select(self) -> str:
        cols = _FILING_COLUMNS.format(route=self.backend.geom_out("f.route"))
        return f"SELECT {cols} FROM filings f JOIN users u ON u.id = f.submitted_by"

    def _filing_record(self, r: tuple) -> Filing:
        j = self.backend.json_value
        return Filing(
            id=int(r[0]), number=r[1], status=r[2], eligible=bool(r[3]),
            voltage_kv=float(r[4]), route=j(r[5]), verdict=j(r[6]), applicant=j(r[7]),
            project_id=r[8], note=r[9], rules_id=r[10], rules_version=r[11], map_hash=r[12],
            map_built=r[13], submitted=r[14], submitted_at=r[15], submitted_by=r[16],
            approval_workdays=None if r[17] is None else int(r[17]), approval_deadline=r[18],
            deadline_provisional=bool(r[19]), permits=j(r[20]), updated_at=r[21],
        )  # fmt: skip

    def _filing_where(self, where: str, params: tuple) -> Filing:
        rows = self._rows(f"{self._filing_select()} WHERE {where}", params)  # type: ignore[attr-defined]
        if not rows:
            raise NotFound(msg("store.no_filing", filing_id=params[0]), filing_id=str(params[0]))
        return self._filing_record(rows[0])

    def filing(self, filing_id: str) -> Filing:
        """The filing with this number (``BA-2026-000042``); NotFound otherwise."""
        return self._filing_where("f.number = ?", (str(filing_id),))

    def filings(
        self,
        status: str | list[str] | None = None,
        overdue: bool | None = None,
        q: str | None = None,
        limit: int = 50,
        offset: int = 0,
        today: dt.date | None = None,
    ) -> Page[Filing]:
        """The register, newest first.

        Parameters
        ----------
        status
            One status or a list of them (see :data:`onemap.store.machine.STATUSES`).
        overdue
            True: referrals past their approval deadline (awaiting a decision after
            ``today``); False: every other filing; None: no filter.
        q
            Text searched (case-insensitive, as a substring) in the filing number, applicant
            name, organisation, project id and note.
        limit, offset
            Paging (1–1000).
        today
            The date overdue is judged on (default today).
        """
        limit, offset = check.page(limit, offset)
        where, params = ["1 = 1"], []
        if status is not None:
            wanted = [status] if isinstance(status, str) else list(status)
            for s in wanted:
                if s not in STATUSES:
                    raise OnemapInputError(
                        msg("store.unknown_status", s=s, statuses=", ".join(STATUSES)),
                        field="status",
                    )
            where.append(f"f.status IN ({', '.join('?' * len(wanted))})")
            params += wanted
        if overdue is not None:
            late = "(f.status = 'referred' AND f.approval_deadline < ?)"
            where.append(late if overdue else f"NOT COALESCE({late}, 0 = 1)")
            params.append((today or dt.date.today()).isoformat())
        if q:
            pattern = "%" + _escape_like(check.text(q, "q", max_len=200)) + "%"
            cols = ("f.number", "f.applicant_name", "f.organisation", "f.project_id", "f.note")
            like = self.backend.like
            where.append("(" + " OR ".join(f"{c} {like} ? ESCAPE '\\'" for c in cols) + ")")
            params += [pattern] * len(cols)
        clause = " AND ".join(where)
        b = self.backend
        with b.transaction(write=False) as conn:
            total = b.execute(
                conn, f"SELECT COUNT(*) FROM filings f WHERE {clause}", tuple(params)
            ).fetchone()[0]
            rows = b.execute(
                conn,
                f"{self._filing_select()} WHERE {clause} ORDER BY f.id DESC LIMIT ? OFFSET ?",
                (*params, limit, offset),
            ).fetchall()
        return Page([self._filing_record(r) for r in rows], int(total), limit, offset)

    def history(self, filing_id: str) -> list[Event]:
        """The filing's append-only history, oldest first (the submission is the first)."""
        filing = self.filing(filing_id)
        rows = self._rows(  # type: ignore[attr-defined]
            "SELECT id, action, actor_name, role, at, status_before, status_after, note"
            " FROM filing_events WHERE filing_id = ? ORDER BY id",
            (filing.id,),
        )
        return [Event(int(r[0]), filing.number, *r[1:]) for r in rows]

    # -- acting --------------------------------------------------------------------------------
    def act(self, filing_id: str, action: str, user: User, note: str = "") -> Filing:
        """Apply a reviewer (or applicant) action and record it in the history.

        Raises
        ------
        OnemapInputError
            Unknown action, or a bad note.
        PermissionDenied
            The user's role may not do the action (an applicant may only withdraw their own).
        NotFound
            No such filing.
        IllegalTransition
            The action is not allowed from the filing's status (HTTP 409).
        """
        action = check_action(action)
        note = check.text(note, "note", required=False)
        if not may(user.role, action):
            raise PermissionDenied(
                msg("store.role_cannot", role=user.role, action=action), action=action
            )
        b = self.backend
        at = _now()
        with b.transaction() as conn:
            rows = b.execute(
                conn, "SELECT id, status, submitted_by FROM filings WHERE number = ?", (filing_id,)
            ).fetchall()
            if not rows:
                raise NotFound(
                    msg("store.no_filing", filing_id=filing_id), filing_id=str(filing_id)
                )
            fid, status, submitter = int(rows[0][0]), rows[0][1], int(rows[0][2])
            if (user.role, action) in OWN_FILING_ONLY and submitter != user.id:
                raise PermissionDenied(
                    msg("store.applicant_own_only", action=action), action=action
                )
            target = next_status(status, action)
            # The status is re-checked in the UPDATE: a concurrent action cannot be lost.
            if (
                target is None
                or b.execute(
                    conn,
                    "UPDATE filings SET status = ?, updated_at = ? WHERE id = ? AND status = ?",
                    (target, at, fid, status),
                ).rowcount
                != 1
            ):
                raise IllegalTransition(str(filing_id), action, status, allowed_actions(status))
            self._event(conn, fid, action, user, status, target, note, at)
        return self.filing(filing_id)

    # -- health --------------------------------------------------------------------------------
    def _filing_problems(self, conn: Any) -> list[str]:
        """Every filing's history starts with its submission, chains status to status and
        ends at its current status; numbers match their counters."""
        b = self.backend
        problems: list[str] = []
        status = {
            int(i): (n, s) for i, n, s in b.execute(conn, "SELECT id, number, status FROM filings")
        }
        last: dict[int, str | None] = {}
        for fid, action, before, after in b.execute(
            conn,
            "SELECT filing_id, action, status_before, status_after FROM filing_events"
            " ORDER BY filing_id, id",
        ):
            fid = int(fid)
            if fid not in last:
                if action != SUBMIT or before is not None:
                    problems.append(f"filing id {fid}: history does not start with the submission")
            elif before != last[fid]:
                problems.append(
                    f"filing id {fid}: event '{action}' from '{before}' after '{last[fid]}'"
                )
            last[fid] = after
        for fid, (number, current) in status.items():
            if last.get(fid) != current:
                problems.append(
                    f"filing {number}: status '{current}', history ends at '{last.get(fid)}'"
                )
        for year, top, counter in b.execute(
            conn,
            "SELECT f.year, MAX(f.seq), s.last FROM filings f LEFT JOIN filing_sequences s"
            " ON s.year = f.year GROUP BY f.year, s.last",
        ):
            if counter is None or int(counter) < int(top):
                problems.append(f"filing numbers of {year}: counter {counter} below {top}")
        return problems


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="microseconds")
