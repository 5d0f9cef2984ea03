"""The filing state machine (policy items 2 and 6).

A submitted route is ``filed`` when the check-route verdict says it needs only a filing — item 2:
"实行备案制，备案完成即可施工", construction may start at once — and ``referred`` when it needs
permits (road excavation, corridor planning, green occupation); a referral's approval deadline is
5 working days on the official calendar (item 2: "10、20千伏及以下电力接入行政审批时间压缩至
5个工作日", ``rules.approval.workdays``), counted from the day after submission.

=====================  =====================================  ==================  ==================
action                 from                                   to                  roles
=====================  =====================================  ==================  ==================
``submit``             (a new filing)                         ``filed`` if the    applicant, admin
                                                              verdict is
                                                              eligible, else
                                                              ``referred``
``accept``             ``referred``                           ``accepted``        reviewer, admin
``return``             ``filed``, ``referred``                ``returned``        reviewer, admin
``withdraw``           ``filed``, ``referred``, ``accepted``  ``withdrawn``       applicant (own
                       (the open states)                                          filing), reviewer,
                                                                                  admin
``works_started``      ``filed``, ``accepted``                ``works_started``   reviewer, admin
``works_completed``    ``works_started``                      ``completed``       reviewer, admin
=====================  =====================================  ==================  ==================

``returned``, ``withdrawn`` and ``completed`` are final. Once works have started the filing can
no longer be withdrawn: the works on the road must be completed on the record. Any other
(action, status) pair raises :class:`~onemap.store.errors.IllegalTransition` (HTTP 409); a role
without the action raises :class:`~onemap.store.errors.PermissionDenied` (HTTP 403).
"""

from __future__ import annotations

from onemap.errors import OnemapInputError
from onemap.messages import msg

ROLES = ("applicant", "reviewer", "admin")
STATUSES = (
    "filed",
    "referred",
    "accepted",
    "returned",
    "withdrawn",
    "works_started",
    "completed",
)
OPEN_STATUSES = ("filed", "referred", "accepted")
FINAL_STATUSES = ("returned", "withdrawn", "completed")
SUBMIT = "submit"

# action -> (statuses it applies to, status it leads to)
TRANSITIONS: dict[str, tuple[tuple[str, ...], str]] = {
    "accept": (("referred",), "accepted"),
    "return": (("filed", "referred"), "returned"),
    "withdraw": (OPEN_STATUSES, "withdrawn"),
    "works_started": (("filed", "accepted"), "works_started"),
    "works_completed": (("works_started",), "completed"),
}
ACTIONS = tuple(TRANSITIONS)

# action -> roles that may do it; admin may do everything. An applicant may withdraw only a
# filing they submitted (checked by the store, which knows the submitter).
ROLE_ACTIONS: dict[str, tuple[str, ...]] = {
    SUBMIT: ("applicant", "admin"),
    "accept": ("reviewer", "admin"),
    "return": ("reviewer", "admin"),
    "withdraw": ("applicant", "reviewer", "admin"),
    "works_started": ("reviewer", "admin"),
    "works_completed": ("reviewer", "admin"),
}
OWN_FILING_ONLY = {("applicant", "withdraw")}


def check_role(role: str, field: str = "role") -> str:
    """``role`` if it is one of :data:`ROLES`; OnemapInputError naming ``field`` otherwise."""
    if role not in ROLES:
        raise OnemapInputError(
            msg("store.unknown_role", role=role, roles=", ".join(ROLES)), field=field
        )
    return role


def check_action(action: str) -> str:
    """``action`` if it is a reviewer action of :data:`TRANSITIONS`; OnemapInputError otherwise."""
    if action not in TRANSITIONS:
        raise OnemapInputError(
            msg("store.unknown_action", action=action, actions=", ".join(ACTIONS)), field="action"
        )
    return action


def may(role: str, action: str) -> bool:
    """Whether a role may do an action at all (ownership aside)."""
    return role in ROLE_ACTIONS.get(action, ())


def next_status(status: str, action: str) -> str | None:
    """The status ``action`` leads to from ``status``, or None when it is not allowed."""
    sources, target = TRANSITIONS[check_action(action)]
    return target if status in sources else None


def allowed_actions(status: str) -> list[str]:
    """The actions allowed from a status (for the 409 message and the register's buttons)."""
    return [a for a, (sources, _) in TRANSITIONS.items() if status in sources]


def initial_status(eligible: bool) -> str:
    """``filed`` for a filing-eligible route (construction may start), else ``referred``."""
    return "filed" if eligible else "referred"
