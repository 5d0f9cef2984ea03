"""Errors of the store, each meaning one answer of the HTTP API (phase 2 maps them).

Bad input (a missing field, a malformed geometry, an unknown role or action) is an
:class:`onemap.errors.OnemapInputError` naming the field (HTTP 422, CLI exit 2). The classes
here are the other refusals:

=============================  ======  =====================================================
error                          HTTP    when
=============================  ======  =====================================================
:class:`NotFound`              404     no filing (or project) with that id
:class:`PermissionDenied`      403     the user's role may not do that action
:class:`IllegalTransition`     409     the action is not allowed from the filing's status
:class:`DuplicateProject`      409     a project id already stored, pushed without its key
:class:`IdempotencyConflict`   422     a client key reused for a different request
:class:`StoreUnavailable`      503     the database cannot be opened or is too new
=============================  ======  =====================================================
"""

from __future__ import annotations

from onemap.errors import text_of
from onemap.messages import FALLBACK_LANG, Message, msg


class StoreError(Exception):
    """Base class of the store's refusals; ``status`` is the HTTP status phase 2 answers.

    ``message`` is a catalogue message (``msg(key, **params)``, see :mod:`onemap.messages`);
    :meth:`text` gives it in a language, ``str(err)`` in English. ``details`` are the
    machine-readable fields of the answer (ids, the action, the allowed actions).
    """

    status = 500

    def __init__(self, message: Message | str, **details: object) -> None:
        self.msg = message
        self.details = details
        super().__init__(self.text(FALLBACK_LANG))

    @property
    def message(self) -> str:
        """The message in English."""
        return self.text(FALLBACK_LANG)

    def text(self, lang: str) -> str:
        """The message in ``lang``."""
        return text_of(self.msg, lang)

    def to_dict(self, lang: str = FALLBACK_LANG) -> dict[str, object]:
        """The message (in ``lang``) and the details as JSON-ready fields."""
        return {"error": self.text(lang), **self.details}


class NotFound(StoreError):
    """No record with that id."""

    status = 404


class PermissionDenied(StoreError):
    """The user's role does not allow the action."""

    status = 403


class IllegalTransition(StoreError):
    """The action is not allowed from the filing's current status (HTTP 409)."""

    status = 409

    def __init__(self, filing_id: str, action: str, status: str, allowed: list[str]) -> None:
        super().__init__(
            msg(
                "store.illegal_transition",
                filing_id=filing_id,
                status=status,
                action=action,
                allowed=", ".join(allowed) if allowed else msg("store.none_allowed"),
            ),
            filing_id=filing_id,
            action=action,
            status=status,
            allowed=allowed,
        )


class DuplicateProject(StoreError):
    """A project id that is already stored (pushed again without the original key)."""

    status = 409


class IdempotencyConflict(StoreError):
    """A client key already used for a different request (or by another user)."""

    status = 422


class StoreUnavailable(StoreError):
    """The database cannot be opened, or its schema is newer than this onemap."""

    status = 503


class Replay(Exception):
    """Internal: a client key is already stored; raised inside a transaction to roll it back."""
