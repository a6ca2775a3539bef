"""Calls started at the same instant in threads: the races that the concurrency,
scheduling, record-rule and case book tests provoke."""

from __future__ import annotations

import threading


def run_together(*calls):
    """Start the calls at the same instant in threads; their replies in order."""
    barrier = threading.Barrier(len(calls))
    results = [None] * len(calls)

    def run(index, call):
        barrier.wait()
        results[index] = call()

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return results
