"""Filing numbers are readable and unique under concurrent submissions: threads sharing one
store object, and separate processes each opening the store (the workers of ``serve``)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import textwrap
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from onemap.store import filing_number, open_store

from .conftest import submit

NUMBER = re.compile(r"^BA-(\d{4})-(\d{6})$")
REPO = Path(__file__).resolve().parents[2]


def test_number_format():
    assert filing_number(2026, 42) == "BA-2026-000042"


def test_numbers_count_per_year(store, people):
    a, _ = submit(store, people["ann"], submitted_date="2025-12-31")
    b, _ = submit(store, people["ann"], submitted_date="2026-01-04")
    c, _ = submit(store, people["ann"], submitted_date="2026-01-05")
    assert [a.number, b.number, c.number] == ["BA-2025-000001", "BA-2026-000001", "BA-2026-000002"]


def test_concurrent_threads(store, people):
    def one(i):
        user = people["ann"] if i % 2 else people["alf"]
        return submit(store, user, eligible=bool(i % 3), key=f"t{i}")[0].number

    with ThreadPoolExecutor(max_workers=8) as pool:
        numbers = list(pool.map(one, range(80)))
    assert len(set(numbers)) == 80
    assert all(NUMBER.match(n) for n in numbers)
    assert sorted(int(NUMBER.match(n).group(2)) for n in numbers) == list(range(1, 81))
    assert store.filings(limit=100).total == 80
    assert store.integrity_check()


WORKER = textwrap.dedent(
    """
    import json, sys
    sys.path.insert(0, sys.argv[3])
    from onemap.store import auth, open_store
    auth.KDF = "scrypt:n=16,r=1,p=1,dklen=32"
    from tests.store.conftest import submit
    store = open_store(url=sys.argv[1])
    user = store.user("ann")
    out = [submit(store, user, key=f"{sys.argv[2]}-{i}")[0].number for i in range(25)]
    print(json.dumps(out))
    """
)


def test_concurrent_processes(store_url, people, store):
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", WORKER, store_url, f"p{k}", str(REPO)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for k in range(4)
    ]
    numbers = []
    for p in procs:
        out, err = p.communicate(timeout=300)
        assert p.returncode == 0, err
        numbers += json.loads(out)
    assert len(numbers) == len(set(numbers)) == 100
    assert sorted(int(NUMBER.match(n).group(2)) for n in numbers) == list(range(1, 101))
    reopened = open_store(url=store_url)
    assert reopened.filings(limit=1000).total == 100
    assert reopened.integrity_check()
    reopened.close()
