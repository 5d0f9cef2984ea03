"""Writes commit one at a time, in the order of their ids, on SQLite and PostgreSQL (issue 15):
a worker that has read every project up to the store's highest id (``Store.revision``) has
missed none, even one whose transaction began first and committed last."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor


def _project(i: int) -> dict:
    return {
        "project_id": f"W{i}",
        "requested_kw": 10.0 + i,
        "category": "lv_residential",
        "location": {"lon": 119.2, "lat": 34.6},
    }


def test_a_write_waits_for_the_write_transaction_before_it(store):
    inside, done = threading.Event(), threading.Event()

    def hold():
        with store.backend.transaction():
            inside.set()
            time.sleep(0.6)
        done.set()

    holder = threading.Thread(target=hold)
    holder.start()
    assert inside.wait(10)
    t0 = time.perf_counter()
    store.push_project(_project(0))
    waited = time.perf_counter() - t0
    holder.join()
    assert done.is_set()
    assert waited >= 0.4, f"the push did not wait for the open write ({waited:.2f} s)"


def test_a_reader_following_the_revision_misses_no_project(store):
    seen: set[int] = set()
    stop = threading.Event()

    def follow():
        after = 0
        while not stop.is_set() or store.revision() > after:
            for record in store.all_projects(after=after, proposals=False):
                seen.add(record.id)
                after = max(after, record.id)

    reader = threading.Thread(target=follow)
    reader.start()
    with ThreadPoolExecutor(6) as pool:
        list(pool.map(lambda i: store.push_project(_project(i), key=f"k{i}"), range(60)))
    stop.set()
    reader.join(60)
    stored = {r.id for r in store.all_projects(proposals=False)}
    assert len(stored) == 60
    assert seen == stored
