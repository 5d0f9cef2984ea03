"""The CLI and HTTP contract (DESIGN §8) is byte-for-byte what was recorded before the packages
were rearranged (issue 11). Re-record on purpose only: ``python -m tests.contract.snapshot --write``
and say in the commit which output changed and why."""

from __future__ import annotations

import difflib

from contract.snapshot import RECORDED, dumps, record


def test_contract_outputs_unchanged():
    now = dumps(record()).splitlines()
    before = RECORDED.read_text(encoding="utf-8").splitlines()
    diff = list(difflib.unified_diff(before, now, "recorded", "now", lineterm="", n=2))
    assert not diff, "contract output changed:\n" + "\n".join(diff[:80])
