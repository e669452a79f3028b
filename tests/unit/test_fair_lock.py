"""SQLite's writer lock is handed to its waiters in turn: a thread that releases it and asks again (the
ingest worker between two transactions) goes behind the requests already waiting."""

from __future__ import annotations

import threading
import time

from vaxlink.storage.db import FairLock


def queued(lock: FairLock, n: int) -> None:
    deadline = time.monotonic() + 10
    while len(lock._waiters) < n:
        assert time.monotonic() < deadline, "the waiters never queued"
        time.sleep(0.001)


def test_the_lock_goes_to_those_already_waiting_before_its_holder_has_it_again():
    lock, order = FairLock(), []
    lock.acquire()

    def request(name: str) -> None:
        with lock:
            order.append(name)

    threads = []
    for i in range(3):
        t = threading.Thread(target=request, args=(f"request {i}",))
        t.start()
        threads.append(t)
        queued(lock, i + 1)
    lock.release()
    lock.acquire()  # the worker's next transaction
    order.append("worker")
    lock.release()
    for t in threads:
        t.join(5)
    assert order == ["request 0", "request 1", "request 2", "worker"]
    assert not lock.locked()


def test_a_wait_that_times_out_leaves_the_line():
    lock = FairLock()
    assert lock.acquire()
    assert lock.acquire(timeout=0.05) is False and not lock._waiters
    assert lock.acquire(blocking=False) is False
    lock.release()
    assert lock.acquire(blocking=False)
    lock.release()
