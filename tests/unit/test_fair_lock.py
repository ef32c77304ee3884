"""The lock a SQLite file's writers queue on in one process is granted in the order it
was asked for, and to one holder at a time."""

from __future__ import annotations

import threading
import time

from infrastructure.store import FairLock
from interfaces.composition import open_ledger

WAITERS = 8


def wait_until(condition: object, seconds: float = 10) -> None:
    deadline = time.monotonic() + seconds
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.001)


def test_waiting_writers_get_the_lock_in_the_order_they_asked() -> None:
    lock = FairLock()
    lock.acquire()
    granted: list[int] = []
    threads = []
    for n in range(WAITERS):
        thread = threading.Thread(target=lambda n=n: (lock.acquire(), granted.append(n), lock.release()))
        thread.start()
        threads.append(thread)
        wait_until(lambda n=n: len(lock._waiting) == n + 1)  # queued before the next one asks
    # One that comes while the lock is being handed on still queues behind the others.
    lock.release()
    late = threading.Thread(target=lambda: (lock.acquire(), granted.append(WAITERS), lock.release()))
    late.start()
    for thread in [*threads, late]:
        thread.join(10)
    assert granted == list(range(WAITERS + 1))
    assert lock.acquire() and (lock.release() is None)


def test_one_holder_at_a_time() -> None:
    lock = FairLock()
    inside = 0
    most = 0
    guard = threading.Lock()

    def work() -> None:
        nonlocal inside, most
        for _ in range(200):
            lock.acquire()
            with guard:
                inside += 1
                most = max(most, inside)
            time.sleep(0)
            with guard:
                inside -= 1
            lock.release()

    threads = [threading.Thread(target=work) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert most == 1 and inside == 0


def test_a_sqlite_file_store_queues_its_writers_on_it(tmp_path: object) -> None:
    ledger = open_ledger(f"sqlite:///{tmp_path}/store.db")
    try:
        assert isinstance(ledger.recorder.datastore.write_lock, FairLock)
    finally:
        ledger.close()
