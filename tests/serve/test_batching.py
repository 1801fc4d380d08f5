"""The batcher alone (numpy, no model): merged calls split back right, a lone request never waits, errors reach
every request of their call, and neither a failing metric nor a closed batcher leaves a request waiting."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from tsrnn.serve.batching import Batcher


def doubled(calls: list[int]) -> object:
    def run(history: np.ndarray, known: np.ndarray | None) -> dict[str, np.ndarray]:
        calls.append(len(history))
        return {"forecast": history * 2}

    return run


def test_requests_read_together_share_one_call() -> None:
    calls: list[int] = []
    b = Batcher(doubled(calls), max_batch=64, max_wait=1.0)  # type: ignore[arg-type]
    tickets = [b.open_ticket() for _ in range(3)]  # three requests being read
    sizes = (1, 4, 2)
    with ThreadPoolExecutor(3) as pool:
        futures = [
            pool.submit(t.predict, np.full((n, 2, 1), i, np.float32), None)
            for i, (t, n) in enumerate(zip(tickets, sizes, strict=True))
        ]
        answers = [f.result(timeout=10) for f in futures]
    for t in tickets:
        b.release(t)
    b.close()
    assert calls == [7]
    for i, (a, n) in enumerate(zip(answers, sizes, strict=True)):
        assert a["forecast"].shape == (n, 2, 1) and np.all(a["forecast"] == 2 * i)


def test_a_lone_request_does_not_wait_and_max_batch_splits() -> None:
    calls: list[int] = []
    b = Batcher(doubled(calls), max_batch=4, max_wait=5.0)  # type: ignore[arg-type]
    t0 = time.perf_counter()
    with b.ticket() as t:
        t.predict(np.zeros((3, 2, 1), np.float32), None)
    assert time.perf_counter() - t0 < 1.0  # no other request being read: no wait for max_wait
    with b.ticket() as t:
        t.predict(np.zeros((9, 2, 1), np.float32), None)  # larger than max_batch: runs alone
    b.close()
    assert calls == [3, 9]


def test_a_lone_request_runs_on_its_own_thread_and_a_crowded_one_on_the_batchers() -> None:
    threads: list[str] = []

    def run(history: np.ndarray, known: np.ndarray | None) -> dict[str, np.ndarray]:
        threads.append(threading.current_thread().name)
        return {"forecast": history}

    b = Batcher(run, max_batch=8, max_wait=0.01, name="m")
    with b.ticket() as t:
        t.predict(np.zeros((1, 2, 1), np.float32), None)
    other = b.open_ticket()  # another request being read
    with b.ticket() as t:
        t.predict(np.zeros((1, 2, 1), np.float32), None)
    b.release(other)
    b.close()
    assert threads == [threading.current_thread().name, "tsrnn-batch-m"]


def test_an_error_reaches_the_request_and_the_thread_goes_on() -> None:
    state = {"fail": True}

    def run(history: np.ndarray, known: np.ndarray | None) -> dict[str, np.ndarray]:
        if state.pop("fail", False):
            raise RuntimeError("boom")
        return {"forecast": history}

    def bad_metric(windows: int, requests: int, seconds: float) -> None:
        raise ValueError("metric")

    b = Batcher(run, max_batch=8, max_wait=0.0, on_batch=bad_metric)
    with b.ticket() as t, pytest.raises(RuntimeError, match="boom"):
        t.predict(np.zeros((1, 2, 1), np.float32), None)
    for _ in range(2):
        with b.ticket() as t:
            assert t.predict(np.ones((1, 2, 1), np.float32), None)["forecast"].sum() == 2
    b.close()


def test_a_closed_batcher_waits_for_its_tickets_and_never_strands_one() -> None:
    calls: list[int] = []
    b = Batcher(doubled(calls), max_batch=8, max_wait=0.0)  # type: ignore[arg-type]
    t = b.open_ticket()
    b.close(wait=False)
    time.sleep(0.05)
    assert not b.closed  # a ticket is still out
    t.predict(np.zeros((1, 2, 1), np.float32), None)
    b.release(t)
    deadline = time.monotonic() + 5
    while not b.closed and time.monotonic() < deadline:
        time.sleep(0.01)
    assert b.closed
    late = threading.Thread(target=lambda: b.ticket().__enter__().predict(np.zeros((1, 2, 1), np.float32), None))
    late.start()
    late.join(timeout=5)
    assert not late.is_alive() and calls == [1, 1]
