"""The filing desk's API (备案, policy items 2 and 6; issue 15) under ``/api/v1/filings``.

Every endpoint needs ``Authorization: Bearer <token>`` of a store user (``onemap users add``):
401 without a known token, 403 for a role that may not. An applicant submits filings and may
read (and withdraw) their own; reviewers and admins read the register and act on filings. The
state machine is :mod:`onemap.store.machine`; the store's refusals answer their HTTP status
(404 unknown filing, 409 illegal transition, 422 reused idempotency key).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from functools import partial
from typing import Annotated, Any

import anyio
from fastapi import APIRouter, Depends, Header, HTTPException, Path, Query, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field

from onemap.lang import check_lang
from onemap.messages import msg
from onemap.rules import resolve_rules
from onemap.store import ACTIONS, STATUSES, Filing, StoreUnavailable, User
from onemap.store.pdf import decision_pdf
from web import verdicts
from web.models import ErrorOut
from web.state import AppState, State, WriteState, state_of

router = APIRouter(tags=["filings"])
STAFF = ("reviewer", "admin")
SUBMITTERS = ("applicant", "admin")
FILING_ID = Annotated[str, Path(max_length=40, description="filing number, e.g. BA-2026-000042")]
AUTH_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorOut, "description": "no or unknown token"},
    403: {"model": ErrorOut, "description": "the user's role may not do this"},
    422: {"model": ErrorOut, "description": "bad request, with a readable message"},
}


class Applicant(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=200)
    organisation: str = Field(default="", max_length=200)
    phone: str = Field(default="", max_length=50)


class FilingIn(BaseModel):
    """A filing application: the route is checked on the served map and the verdict frozen."""

    model_config = ConfigDict(extra="forbid")
    route: dict[str, Any] = Field(description="GeoJSON LineString geometry or Feature (lon/lat)")
    voltage_kv: float = Field(gt=0, examples=[10.0])
    applicant: Applicant
    project_id: str | None = Field(default=None, max_length=100)
    date: dt.date | None = Field(default=None, description="submission date, default today")
    note: str = Field(default="", max_length=2000)


class EventIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    action: str = Field(description="one of: " + ", ".join(ACTIONS))
    note: str = Field(default="", max_length=2000)


def bearer_token(authorization: str | None) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` header, or None."""
    scheme, _, given = (authorization or "").partition(" ")
    return (given.strip() or None) if scheme.lower() == "bearer" else None


def _store(state: AppState):
    if state.store is None:
        raise StoreUnavailable(msg("web.no_store"))
    return state.store


async def authenticate(store: Any, token: str) -> User | None:
    """The store user of ``token``: on the event loop when this process has verified the token
    before (one query), else in a worker thread (scrypt takes tens of milliseconds).

    Parameters
    ----------
    store
        The :class:`onemap.store.Store`.
    token
        The bearer token.

    Returns
    -------
    User or None
        The active user, or None for an unknown or wrong token.
    """
    if store.verified_before(token):
        return store.authenticate(token)
    return await anyio.to_thread.run_sync(store.authenticate, token)


async def current_user(
    request: Request, authorization: Annotated[str | None, Header()] = None
) -> User:
    """The store user of the request's bearer token; 401 without one.

    Async, so a known token costs no trip through a worker thread (see :func:`authenticate`).
    """
    state = state_of(request)
    token = bearer_token(authorization)
    user = await authenticate(_store(state), token) if token else None
    if user is None:
        raise HTTPException(
            status_code=401,
            detail="missing or unknown user token (Authorization: Bearer <token>; "
            "`onemap users add` creates one)",
            headers={"WWW-Authenticate": "Bearer"},
        )
    return user


CurrentUser = Annotated[User, Depends(current_user)]


def need(user: User, roles: tuple[str, ...], what: str) -> None:
    if user.role not in roles:
        raise HTTPException(status_code=403, detail=f"role '{user.role}' may not {what}")


def readable_filing(state: AppState, filing_id: str, user: User) -> Filing:
    """The filing, if ``user`` may read it (staff, or the applicant who submitted it)."""
    filing = _store(state).filing(filing_id)
    if user.role not in STAFF and filing.submitted_by != user.name:
        raise HTTPException(status_code=403, detail="an applicant may read only their own filings")
    return filing


@router.post(
    "/filings",
    status_code=201,
    responses={409: {"model": ErrorOut}, 413: {"model": ErrorOut}, **AUTH_ERRORS},
)
async def submit_filing(
    state: WriteState,
    user: CurrentUser,
    body: FilingIn,
    idempotency_key: Annotated[
        str | None,
        Header(
            alias="Idempotency-Key",
            description="a repeat with the same key answers the stored filing",
        ),
    ] = None,
    lang: Annotated[str, Query(description="language of the verdict: zh or en")] = "zh",
) -> JSONResponse:
    """Submit a route for filing (role applicant): checked on the served map, the verdict
    frozen; ``filed`` (works may start) when filing-only, else ``referred`` with the permits
    and the approval deadline on the official calendar."""
    need(user, SUBMITTERS, "submit filings")
    _store(state)
    # One trip to a worker thread for the check and the write, among the CPU-bound calls that
    # share the process's few threads first come, first served (web.state.PREVIEW_THREADS).
    call = partial(_submit, state, user, body, idempotency_key, check_lang(lang))
    filing, created = await anyio.to_thread.run_sync(call, limiter=state.preview_limiter)
    return JSONResponse(
        status_code=201,
        content=filing.to_dict(),
        headers={"Idempotent-Replayed": "false" if created else "true"},
    )


def _submit(
    state: AppState, user: User, body: FilingIn, key: str | None, lang: str
) -> tuple[Filing, bool]:
    store = _store(state)
    m = state.write_map()  # what the verdict reads: the map as a write sees it
    date = body.date or dt.date.today()
    verdict = verdicts.check_route_dict(
        m, body.route, body.voltage_kv, date, lang, state.settings.max_route_vertices
    )
    rules = resolve_rules(m)
    return store.submit_filing(
        verdict,
        body.route,
        body.voltage_kv,
        body.applicant.model_dump(),
        user=user,
        rules_id=rules.meta.id,
        rules_version=rules.meta.version,
        map_hash=state.map_hash(),
        map_built=m.meta.get("built_at"),
        project_id=body.project_id,
        note=body.note,
        submitted_date=date,
        key=key,
        rules=rules,
    )


def _statuses(status: str | None) -> list[str] | None:
    if not status:
        return None
    return [s.strip() for s in status.split(",") if s.strip()] or None


StatusQ = Annotated[
    str | None, Query(description="status or comma-separated statuses: " + ", ".join(STATUSES))
]
OverdueQ = Annotated[bool | None, Query(description="true: referrals past their deadline")]
SearchQ = Annotated[
    str | None,
    Query(max_length=200, description="text in number, applicant, organisation, project, note"),
]


@router.get("/filings", responses=AUTH_ERRORS)
def list_filings(
    state: State,
    user: CurrentUser,
    status: StatusQ = None,
    overdue: OverdueQ = None,
    q: SearchQ = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> dict:
    """The register (role reviewer or admin), newest first: {items, total, limit, offset}."""
    need(user, STAFF, "read the register")
    page = _store(state).filings(
        status=_statuses(status), overdue=overdue, q=q, limit=limit, offset=offset
    )
    return page.to_dict()


CSV_COLUMNS = (
    ("filing_id", "备案编号"),
    ("status", "状态"),
    ("eligible", "符合备案制"),
    ("voltage_kv", "电压（千伏）"),
    ("length_m", "路径长度（米）"),
    ("applicant", "申请人"),
    ("organisation", "单位"),
    ("phone", "电话"),
    ("project_id", "项目编号"),
    ("submitted", "提交日期"),
    ("approval_deadline", "审批期限"),
    ("deadline_state", "期限状态"),
    ("permits", "需办理的许可"),
    ("rules", "规则表"),
    ("submitted_by", "提交用户"),
    ("note", "备注"),
    ("updated_at", "更新时间"),
)


def _cell(value: Any) -> str:
    """Text of a CSV cell; a leading = + - @ is quoted so a spreadsheet shows it as text."""
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def csv_row(f: dict[str, Any]) -> list[str]:
    deadline = f["approval_deadline"] or {}
    values = {
        **f,
        "length_m": (f["verdict"] or {}).get("length_m"),
        "applicant": f["applicant"].get("name"),
        "organisation": f["applicant"].get("organisation"),
        "phone": f["applicant"].get("phone"),
        "approval_deadline": deadline.get("date"),
        "permits": " ".join(f["permits"] or []),
        "rules": f"{f['rules']['id']} {f['rules']['version']}",
    }
    return [_cell(values.get(k)) for k, _ in CSV_COLUMNS]


@router.get(
    "/filings.csv",
    response_class=Response,
    responses={200: {"content": {"text/csv": {}}}, **AUTH_ERRORS},
)
def filings_csv(
    state: State,
    user: CurrentUser,
    status: StatusQ = None,
    overdue: OverdueQ = None,
    q: SearchQ = None,
    lang: Annotated[str, Query(description="header language: zh or en")] = "zh",
) -> Response:
    """The register as CSV (UTF-8 with BOM, for spreadsheets), same filters as the listing."""
    need(user, STAFF, "read the register")
    store = _store(state)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([zh if check_lang(lang) == "zh" else k for k, zh in CSV_COLUMNS])
    offset = 0
    while True:
        page = store.filings(
            status=_statuses(status), overdue=overdue, q=q, limit=1000, offset=offset
        )
        for f in page.items:
            writer.writerow(csv_row(f.to_dict()))
        offset += len(page.items)
        if not page.items or offset >= page.total:
            break
    return Response(
        content="\ufeff" + out.getvalue(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="filings.csv"'},
    )


@router.get("/filings/{filing_id}", responses={404: {"model": ErrorOut}, **AUTH_ERRORS})
def get_filing(state: State, user: CurrentUser, filing_id: FILING_ID) -> dict:
    """One filing (staff, or the applicant who submitted it)."""
    return readable_filing(state, filing_id, user).to_dict()


@router.post(
    "/filings/{filing_id}/events",
    responses={404: {"model": ErrorOut}, 409: {"model": ErrorOut}, **AUTH_ERRORS},
)
def act_on_filing(state: State, user: CurrentUser, filing_id: FILING_ID, body: EventIn) -> dict:
    """Act on a filing (role reviewer; an applicant may withdraw their own): ``accept``,
    ``return``, ``withdraw``, ``works_started``, ``works_completed``. An action not allowed
    from the filing's status answers 409 with the allowed ones. Answers the filing."""
    return _store(state).act(filing_id, body.action, user, note=body.note).to_dict()


@router.get("/filings/{filing_id}/history", responses={404: {"model": ErrorOut}, **AUTH_ERRORS})
def filing_history(state: State, user: CurrentUser, filing_id: FILING_ID) -> dict:
    """The filing's append-only history, oldest first: who, role, when, action, before/after."""
    filing = readable_filing(state, filing_id, user)
    events = _store(state).history(filing.number)
    return {"filing_id": filing.number, "events": [e.to_dict() for e in events]}


@router.get(
    "/filings/{filing_id}/decision.pdf",
    response_class=Response,
    responses={200: {"content": {"application/pdf": {}}}, 404: {"model": ErrorOut}, **AUTH_ERRORS},
)
def filing_pdf(state: State, user: CurrentUser, filing_id: FILING_ID) -> Response:
    """The printable decision in Chinese: filing receipt (备案回执) for a filed route, referral
    notice (转办通知) for one that needs permits — number, route map, verdict, reasons,
    permits, deadline, rule-table version."""
    filing = readable_filing(state, filing_id, user)
    history = [e.to_dict() for e in _store(state).history(filing.number)]
    pdf = decision_pdf(filing.to_dict(), history)
    return Response(
        content=pdf,
        media_type="application/pdf",
        headers={"Content-Disposition": f'inline; filename="{filing.number}.pdf"'},
    )
