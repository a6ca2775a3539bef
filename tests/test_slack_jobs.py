"""The worker process that does the Slack work after each ack."""

import contextlib
import os
import signal
import threading
import time

import pytest

from bot.config import Settings
from bot.runtime.worker import ProcessJobs


@pytest.fixture
def settings(tmp_path):
    """Settings for a worker whose Slack is unreachable: these tests only move jobs."""
    return Settings(
        database_url=f"sqlite:///{tmp_path / 'jobs.db'}",
        slack_bot_token="xoxb-jobs",
        slack_signing_secret="s",
        slack_api_url="http://127.0.0.1:9/api/",
    )


def test_a_dead_worker_is_replaced_and_the_job_still_runs(settings):
    jobs = ProcessJobs(settings, workers=1)
    try:
        first = jobs.process.pid
        assert jobs.alive()
        jobs.process.kill()
        jobs.process.join(timeout=10)
        assert not jobs.alive()
        jobs.submit("nudge")  # restarts the worker, then queues the job
        assert jobs.alive() and jobs.process.pid != first
    finally:
        jobs.shutdown()
    assert not jobs.alive()


def test_a_worker_that_falls_behind_never_blocks_the_submitter(settings):
    """The worker stopped (SIGSTOP) while three times what its pipe holds is submitted:
    every submit returns all the same (one that waited for the worker would hang until
    it went on), the rest waits in memory, and all of it drains once the worker goes on."""
    jobs = ProcessJobs(settings, workers=1)
    pid = jobs.process.pid
    submitted = threading.Event()

    def submit_all() -> None:
        for _ in range(30):  # 3 MB in all (100 KB each): three times what the pipe holds
            jobs.submit("not_a_job", "x" * 100_000)
        submitted.set()

    try:
        os.kill(pid, signal.SIGSTOP)
        threading.Thread(target=submit_all, daemon=True).start()
        assert submitted.wait(timeout=60), "a submit waited for the stopped worker"
        assert jobs._backlog or jobs._feeding  # the rest waits in memory
        os.kill(pid, signal.SIGCONT)
        deadline = time.monotonic() + 120  # the worker runs at idle priority
        while jobs._feeding or jobs._backlog:
            assert time.monotonic() < deadline, "the backlog never drained"
            time.sleep(0.05)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGCONT)
        jobs.shutdown()


def test_the_worker_keeps_to_its_cpus_at_the_lowest_priority(settings):
    cpu = max(os.sched_getaffinity(0))
    jobs = ProcessJobs(settings.model_copy(update={"worker_cpus": frozenset({cpu})}), workers=1)
    try:
        assert os.sched_getaffinity(jobs.process.pid) == {cpu}
        assert os.sched_getscheduler(jobs.process.pid) == os.SCHED_IDLE
    finally:
        jobs.shutdown()


def test_worker_cpus_are_read_as_lists_and_ranges(monkeypatch):
    monkeypatch.setenv("DXDESK_WORKER_CPUS", "1,3-4")
    assert Settings().worker_cpus == {1, 3, 4}
    monkeypatch.setenv("DXDESK_WORKER_CPUS", "")
    assert Settings().worker_cpus is None
