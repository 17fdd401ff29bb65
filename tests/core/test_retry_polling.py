"""The clients' shared machinery: retries, deadlines, ``wait`` polling, secrets, loop thread."""

from __future__ import annotations

import asyncio
import threading
import time
import warnings
from collections.abc import AsyncIterator, Iterator

import pytest

from runbind import ApiError, InvalidArgumentError, RetryPolicy, Run, RunResult, RunTimeoutError
from runbind._core.client_base import run_id_of
from runbind._core.credentials import Secret, from_env
from runbind._core.loop_thread import LoopThread, SyncIterator, loop_thread
from runbind._core.polling import wait_for
from runbind._core.retry import Deadline, Transient, call
from tests.openai.test_adapter import run_payload

FAST = RetryPolicy(attempts=4, initial=0.001, maximum=0.002)


def run(status: str) -> Run:
    return Run.from_openai(run_payload(status))


# --- RetryPolicy and Deadline -------------------------------------------------------------


@pytest.mark.parametrize(
    "options",
    [{"attempts": 0}, {"initial": 0}, {"initial": 2.0, "maximum": 1.0}, {"multiplier": 0.5}],
)
def test_retry_policy_rejects_nonsense(options: dict[str, float]) -> None:
    with pytest.raises(ValueError, match="RetryPolicy"):
        RetryPolicy(**options)  # type: ignore[arg-type]


def test_backoff_grows_is_jittered_capped_and_honours_retry_after() -> None:
    policy = RetryPolicy(initial=0.1, maximum=1.0, multiplier=2.0)
    for attempt, ceiling in [(1, 0.1), (2, 0.2), (3, 0.4), (4, 0.8), (5, 1.0), (30, 1.0)]:
        waits = {policy.backoff(attempt) for _ in range(50)}
        assert all(ceiling / 2 <= w <= ceiling for w in waits), (attempt, waits)
        assert len(waits) > 1, "no jitter"
    assert policy.backoff(1, retry_after=3.0) == 3.0


@pytest.mark.parametrize("timeout", [0, -1.0, float("nan")])
def test_deadline_needs_a_positive_timeout(timeout: float) -> None:
    with pytest.raises(ValueError, match="positive"):
        Deadline(timeout)


def test_deadline_sleep_refuses_what_does_not_fit() -> None:
    deadline = Deadline(0.2)
    started = time.monotonic()
    assert asyncio.run(deadline.sleep(5.0)) is False
    assert time.monotonic() - started < 0.1
    assert asyncio.run(deadline.sleep(0.01)) is True
    assert not deadline.expired()


# --- call(): the retry driver ---------------------------------------------------------------


class Flaky:
    """Fails ``failures`` times with a Transient, then answers."""

    def __init__(
        self, failures: int, retry_after: float | None = None, *, unprocessed: bool = False
    ) -> None:
        self.failures = failures
        self.retry_after = retry_after
        self.unprocessed = unprocessed
        self.calls = 0

    async def __call__(self, deadline: Deadline) -> str:
        self.calls += 1
        if self.calls <= self.failures:
            error = ApiError("test", "UNAVAILABLE", f"try {self.calls}")
            raise Transient(error, self.retry_after, unprocessed=self.unprocessed)
        return "ok"


def test_call_retries_transient_failures_then_succeeds() -> None:
    flaky = Flaky(3)
    assert asyncio.run(call(flaky, Deadline(5), FAST, retry=True)) == "ok"
    assert flaky.calls == 4


def test_call_gives_up_after_the_policy_attempts_with_the_last_error() -> None:
    flaky = Flaky(10)
    with pytest.raises(ApiError, match="try 4"):
        asyncio.run(call(flaky, Deadline(5), FAST, retry=True))
    assert flaky.calls == FAST.attempts


def test_call_without_retry_tries_once() -> None:
    flaky = Flaky(1)
    with pytest.raises(ApiError, match="try 1"):
        asyncio.run(call(flaky, Deadline(5), FAST, retry=False))
    assert flaky.calls == 1


def test_call_without_retry_sends_an_unprocessed_attempt_again() -> None:
    flaky = Flaky(2, unprocessed=True)
    assert asyncio.run(call(flaky, Deadline(5), FAST, retry=False)) == "ok"
    assert flaky.calls == 3


def test_call_sends_unprocessed_attempts_again_only_within_the_policy() -> None:
    flaky = Flaky(10, unprocessed=True)
    with pytest.raises(ApiError, match="try 4"):
        asyncio.run(call(flaky, Deadline(5), FAST, retry=False))
    assert flaky.calls == FAST.attempts


def test_call_does_not_wait_for_a_retry_after_beyond_the_deadline() -> None:
    flaky = Flaky(1, retry_after=30.0)
    started = time.monotonic()
    with pytest.raises(ApiError):
        asyncio.run(call(flaky, Deadline(1.0), FAST, retry=True))
    assert time.monotonic() - started < 0.5
    assert flaky.calls == 1


def test_call_waits_a_retry_after_that_fits() -> None:
    flaky = Flaky(1, retry_after=0.2)
    started = time.monotonic()
    assert asyncio.run(call(flaky, Deadline(5.0), FAST, retry=True)) == "ok"
    assert time.monotonic() - started >= 0.2


def test_call_lets_final_errors_through_untouched() -> None:
    async def broken(deadline: Deadline) -> str:
        raise ApiError("test", "NOT_FOUND", "gone")

    with pytest.raises(ApiError, match="gone"):
        asyncio.run(call(broken, Deadline(5), FAST, retry=True))


# --- wait_for -------------------------------------------------------------------------------


class Script:
    """A poll that walks through ``statuses`` (repeating the last) with an optional hint."""

    def __init__(self, *statuses: str, hint: float | None = None) -> None:
        self.statuses = list(statuses)
        self.hint = hint
        self.times: list[float] = []

    async def poll(self, deadline: Deadline) -> tuple[Run, float | None]:
        self.times.append(time.monotonic())
        status = self.statuses.pop(0) if len(self.statuses) > 1 else self.statuses[0]
        return run(status), self.hint

    @staticmethod
    async def result(found: Run, deadline: Deadline) -> RunResult:
        return found.result()


@pytest.mark.parametrize("final", ["completed", "failed", "cancelled", "expired", "incomplete"])
def test_wait_returns_at_a_terminal_status(final: str) -> None:
    script = Script("queued", "in_progress", final)
    result = asyncio.run(wait_for(script.poll, script.result, timeout=5, poll_interval=0.001))
    assert result.status.value == final
    assert len(script.times) == 3


def test_wait_cuts_a_long_pause_short_for_one_last_poll_before_the_deadline() -> None:
    script = Script("in_progress", "completed")
    started = time.monotonic()
    result = asyncio.run(wait_for(script.poll, script.result, timeout=0.4, poll_interval=5.0))
    assert result.status.value == "completed"
    assert 0.3 <= time.monotonic() - started < 0.4


def test_wait_returns_when_the_run_requires_action() -> None:
    script = Script("in_progress", "requires_action")
    result = asyncio.run(wait_for(script.poll, script.result, timeout=5, poll_interval=0.001))
    assert result.requires_action


def test_wait_times_out_with_the_last_run_on_one_overall_deadline() -> None:
    script = Script("queued", "in_progress")
    started = time.monotonic()
    with pytest.raises(RunTimeoutError) as caught:
        asyncio.run(wait_for(script.poll, script.result, timeout=0.3, poll_interval=0.01))
    elapsed = time.monotonic() - started
    assert 0.2 <= elapsed < 1.0
    assert caught.value.last_run is not None
    assert caught.value.last_run.status.value == "in_progress"


def test_wait_backs_off_and_honours_the_server_hint() -> None:
    script = Script("in_progress", hint=0.1)
    with pytest.raises(RunTimeoutError):
        asyncio.run(wait_for(script.poll, script.result, timeout=0.45, poll_interval=0.001))
    gaps = [b - a for a, b in zip(script.times, script.times[1:], strict=False)]
    assert len(gaps) >= 2, script.times
    # The hint (0.1 s, jitter -20 %) wins over poll_interval; only the pause before the last
    # poll may be shorter, cut to fit that poll before the deadline.
    assert all(gap >= 0.08 for gap in gaps[:-1]), gaps
    assert len(script.times) <= 7
    assert script.times[-1] - script.times[0] >= 0.3


def test_wait_polls_an_unknown_status_until_the_deadline_with_one_warning() -> None:
    script = Script("paused")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with pytest.raises(RunTimeoutError) as error:
            asyncio.run(wait_for(script.poll, script.result, timeout=0.3, poll_interval=0.01))
    assert len(script.times) > 3, "an unknown status must be polled on, not returned"
    relevant = [w for w in caught if "paused" in str(w.message)]
    assert len(relevant) == 1
    assert error.value.last_run is not None
    assert error.value.last_run.status_name == "UNKNOWN('paused')"


@pytest.mark.parametrize("interval", [0, -1.0])
def test_wait_rejects_a_non_positive_poll_interval(interval: float) -> None:
    script = Script("queued")
    with pytest.raises(InvalidArgumentError, match="poll_interval"):
        asyncio.run(wait_for(script.poll, script.result, timeout=1, poll_interval=interval))


def test_wait_keeps_the_last_run_when_a_poll_times_out() -> None:
    calls = 0

    async def poll(deadline: Deadline) -> tuple[Run, float | None]:
        nonlocal calls
        calls += 1
        if calls == 1:
            return run("in_progress"), None
        raise RunTimeoutError("poll timed out")

    with pytest.raises(RunTimeoutError) as caught:
        asyncio.run(wait_for(poll, Script.result, timeout=2, poll_interval=0.001))
    assert caught.value.last_run is not None
    assert caught.value.last_run.status.value == "in_progress"


# --- credentials and run references ---------------------------------------------------------


def test_secret_never_shows_itself() -> None:
    secret = Secret("sk-very-secret-value")
    for text in (repr(secret), str(secret), f"{secret}", repr([secret])):
        assert "very-secret" not in text
    assert secret.reveal() == "sk-very-secret-value"


def test_from_env_prefers_the_argument_then_the_first_set_variable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("RB_B", "from-b")
    monkeypatch.delenv("RB_A", raising=False)
    assert from_env(None, "RB_A", "RB_B") is not None
    found = from_env(None, "RB_A", "RB_B")
    assert found is not None
    assert found.reveal() == "from-b"
    given = from_env("given", "RB_B")
    assert given is not None
    assert given.reveal() == "given"
    monkeypatch.delenv("RB_B")
    assert from_env(None, "RB_A", "RB_B") is None


@pytest.mark.parametrize("bad", ["", "  ", "SECRET-X\nlines", "SECRET-Y\r"])
def test_from_env_rejects_unusable_credentials(bad: str) -> None:
    with pytest.raises(InvalidArgumentError) as caught:
        from_env(bad)
    assert "SECRET" not in str(caught.value)


def test_run_id_of_accepts_runs_and_ids_only() -> None:
    assert run_id_of(run("completed")) == run("completed").id
    assert run_id_of("run_1") == "run_1"
    for bad in ("", 5, None):
        with pytest.raises(InvalidArgumentError):
            run_id_of(bad)  # type: ignore[arg-type]


# --- the loop thread ------------------------------------------------------------------------


def test_loop_thread_is_shared_and_runs_coroutines() -> None:
    first = loop_thread()
    assert loop_thread() is first

    async def where() -> str:
        return threading.current_thread().name

    assert first.run(where()) == "runbind-sync-loop"


def test_loop_thread_raises_the_coroutines_exception_here() -> None:
    async def boom() -> None:
        raise ApiError("test", 500, "boom")

    with pytest.raises(ApiError, match="boom"):
        loop_thread().run(boom())


def test_loop_thread_refuses_to_block_on_itself() -> None:
    runner = LoopThread()

    async def nested() -> str:
        async def inner() -> str:
            return "never"

        coro = inner()
        try:
            return runner.run(coro)
        except RuntimeError as exc:
            return str(exc)

    assert "own loop thread" in runner.run(nested())
    runner.loop.call_soon_threadsafe(runner.loop.stop)


class Source:
    """An async iterator that records whether it was closed."""

    def __init__(self, items: list[int], fail_at: int | None = None) -> None:
        self.items = items
        self.fail_at = fail_at
        self.closed = False

    async def gen(self) -> AsyncIterator[int]:
        try:
            for index, item in enumerate(self.items):
                if index == self.fail_at:
                    raise ApiError("test", "UNAVAILABLE", "dropped")
                yield item
        finally:
            self.closed = True


def test_sync_iterator_yields_everything_then_stops() -> None:
    source = Source([1, 2, 3])
    iterator: Iterator[int] = SyncIterator(loop_thread(), source.gen)
    assert list(iterator) == [1, 2, 3]
    assert list(iterator) == []
    assert source.closed


def test_sync_iterator_close_early_releases_the_source() -> None:
    source = Source([1, 2, 3])
    with SyncIterator(loop_thread(), source.gen) as iterator:
        assert next(iterator) == 1
    assert source.closed
    with pytest.raises(StopIteration):
        next(iterator)


def test_sync_iterator_raises_the_sources_error_and_stops() -> None:
    source = Source([1, 2, 3], fail_at=1)
    iterator = SyncIterator(loop_thread(), source.gen)
    assert next(iterator) == 1
    with pytest.raises(ApiError, match="dropped"):
        next(iterator)
    assert source.closed
    with pytest.raises(StopIteration):
        next(iterator)
