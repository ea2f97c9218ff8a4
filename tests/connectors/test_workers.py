"""What several Rasa workers share, on real SQLite files: conversation locks
(connectors/lock_store.py), Telegram pacing (connectors/state.py) and the tuned SQLite
tracker store (connectors/tracker_store.py)."""

from __future__ import annotations

import asyncio
import itertools
import multiprocessing
import sqlite3
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from rasa.core.lock_store import LockError, LockStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, SlotSet, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.utils.endpoints import EndpointConfig

from connectors.lock_store import SQLLockStore
from connectors.state import ChannelState
from connectors.telegram import _Pacer
from connectors.tracker_store import PetitionTrackerStore, sqlite_synchronous


@pytest.fixture
def url(tmp_path: Path) -> str:
    """A SQLite file for the shared state."""
    return f"sqlite:///{tmp_path / 'channels.db'}"


@pytest.fixture
def store(url: str) -> Iterator[SQLLockStore]:
    """A lock store, as one Rasa worker has it."""
    state = ChannelState(url)
    yield SQLLockStore(state=state)
    state.dispose()


def test_tickets_are_issued_in_order_and_the_lock_disappears_when_served(
    store: SQLLockStore,
) -> None:
    first = store.issue_ticket("rest:a")
    second = store.issue_ticket("rest:a")
    assert second == first + 1
    lock = store.get_lock("rest:a")
    assert lock is not None and lock.now_serving == first
    assert lock.is_locked(second)
    store.cleanup("rest:a", first)
    lock = store.get_lock("rest:a")
    assert lock is not None and not lock.is_locked(second)
    store.cleanup("rest:a", second)
    assert store.get_lock("rest:a") is None


def test_conversations_have_separate_locks(store: SQLLockStore) -> None:
    store.issue_ticket("rest:a")
    ticket = store.issue_ticket("rest:b")
    lock = store.get_lock("rest:b")
    assert lock is not None and not lock.is_locked(ticket)


def test_expired_tickets_do_not_block(store: SQLLockStore) -> None:
    store.issue_ticket("rest:a", lock_lifetime=0.01)
    time.sleep(0.05)
    ticket = store.issue_ticket("rest:a")
    lock = store.get_lock("rest:a")
    assert lock is not None and not lock.is_locked(ticket)


def test_endpoint_config_url_names_the_database(tmp_path: Path) -> None:
    endpoint = EndpointConfig.from_dict(
        {"type": "connectors.lock_store.SQLLockStore", "url": f"sqlite:///{tmp_path / 'locks.db'}"}
    )
    locks = LockStore.create(endpoint)
    assert isinstance(locks, SQLLockStore)
    locks.issue_ticket("rest:a")
    locks.state.dispose()
    with sqlite3.connect(tmp_path / "locks.db") as connection:
        rows = connection.execute("SELECT conversation_id FROM conversation_lock").fetchall()
    assert rows == [("rest:a",)]


def _issue_many(url: str, count: int, queue: multiprocessing.Queue[list[int]]) -> None:
    state = ChannelState(url)
    locks = SQLLockStore(state=state)
    queue.put([locks.issue_ticket("rest:shared") for _ in range(count)])
    state.dispose()


def in_processes(target: Callable[..., None], url: str, count: int, processes: int) -> list[Any]:
    """Runs `target(url, count, queue)` in `processes` spawned processes at once; returns
    everything they put on the queue, flattened."""
    ChannelState(url).engine  # noqa: B018 - creates the tables before the race
    context = multiprocessing.get_context("spawn")
    queue: multiprocessing.Queue[list[Any]] = context.Queue()
    workers = [context.Process(target=target, args=(url, count, queue)) for _ in range(processes)]
    for worker in workers:
        worker.start()
    results = [item for _ in workers for item in queue.get(timeout=120)]
    for worker in workers:
        worker.join(timeout=30)
    return results


def test_workers_in_separate_processes_never_get_the_same_ticket(url: str) -> None:
    assert sorted(in_processes(_issue_many, url, 40, processes=3)) == list(range(120))


def test_one_message_per_conversation_at_a_time_across_workers(url: str) -> None:
    """Two workers (two stores, two connection pools) handle messages of one conversation:
    the second waits until the first has finished."""
    first_worker, second_worker = ChannelState(url), ChannelState(url)
    one, two = SQLLockStore(state=first_worker), SQLLockStore(state=second_worker)
    timeline: list[str] = []

    async def handle(locks: SQLLockStore, name: str, delay: float) -> None:
        await asyncio.sleep(delay)
        async with locks.lock("wx:user", wait_time_in_seconds=0.01):
            timeline.append(f"{name} start")
            await asyncio.sleep(0.1)
            timeline.append(f"{name} end")

    async def both() -> None:
        await asyncio.gather(handle(one, "first", 0.0), handle(two, "second", 0.02))

    asyncio.run(both())
    assert timeline == ["first start", "first end", "second start", "second end"]
    assert one.get_lock("wx:user") is None
    first_worker.dispose()
    second_worker.dispose()


def test_a_ticket_whose_lock_vanished_is_an_error(store: SQLLockStore) -> None:
    """Rasa's contract: a LockError rather than waiting forever."""

    async def acquire() -> None:
        ticket = store.issue_ticket("rest:b", lock_lifetime=60)
        store.delete_lock("rest:b")
        await store._acquire_lock("rest:b", ticket, 0.01)

    with pytest.raises(LockError):
        asyncio.run(acquire())


# Tracker store --------------------------------------------------------------------------


def _tracker(sender: str) -> DialogueStateTracker:
    tracker = DialogueStateTracker(sender, slots=[])
    tracker.update(ActionExecuted("action_listen"))
    tracker.update(UserUttered("你好", {"name": "greet", "confidence": 0.9}))
    tracker.update(SlotSet("requested_slot", None))
    return tracker


def test_sqlite_tracker_store_uses_write_ahead_logging(tmp_path: Path) -> None:
    database = tmp_path / "tracker.db"
    store = PetitionTrackerStore(domain=Domain.empty(), dialect="sqlite", db=str(database))
    asyncio.run(store.save(_tracker("rest:a")))
    with sqlite3.connect(database) as connection:
        assert connection.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    with store.engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA synchronous").scalar() == 1  # NORMAL
    restored = asyncio.run(store.retrieve("rest:a"))
    assert restored is not None
    assert [e.as_dict()["event"] for e in restored.events] == ["action", "user", "slot"]
    assert restored.latest_message is not None and restored.latest_message.text == "你好"


def test_saving_again_appends_only_new_events(tmp_path: Path) -> None:
    store = PetitionTrackerStore(domain=Domain.empty(), dialect="sqlite", db=str(tmp_path / "t"))
    tracker = _tracker("rest:a")
    asyncio.run(store.save(tracker))
    tracker.update(ActionExecuted("utter_greet"))
    asyncio.run(store.save(tracker))
    restored = asyncio.run(store.retrieve("rest:a"))
    assert restored is not None and len(restored.events) == 4


def test_synchronous_setting_is_checked() -> None:
    assert sqlite_synchronous({}) == "NORMAL"
    assert sqlite_synchronous({"TRACKER_SQLITE_SYNCHRONOUS": "full"}) == "FULL"
    with pytest.raises(ValueError, match="TRACKER_SQLITE_SYNCHRONOUS"):
        sqlite_synchronous({"TRACKER_SQLITE_SYNCHRONOUS": "sometimes"})


# Pacing shared by workers -----------------------------------------------------------------


def test_reserved_slots_are_spaced_across_processes_views(url: str) -> None:
    one, two = ChannelState(url), ChannelState(url)
    assert one.reserve_slot("tg:1", 1.0, now=100.0) == 100.0
    assert one.reserve_slot("tg:1", 1.0, now=100.0) == 101.0
    assert two.reserve_slot("tg:1", 1.0, now=100.5) == 102.0  # the other worker sees it
    assert two.reserve_slot("tg:2", 1.0, now=100.5) == 100.5  # another chat is free
    assert one.reserve_slot("tg:1", 1.0, now=200.0) == 200.0  # idle long enough
    assert one.reserve_slot("tg:1", 1.0, not_before=300.0, now=200.0) == 300.0
    one.dispose()
    two.dispose()


def _reserve_many(url: str, count: int, queue: multiprocessing.Queue[list[float]]) -> None:
    state = ChannelState(url)
    queue.put([state.reserve_slot("tg:*", 0.5, now=1000.0) for _ in range(count)])
    state.dispose()


def test_concurrent_reservations_never_share_a_slot(url: str) -> None:
    slots = in_processes(_reserve_many, url, 20, processes=2)
    assert sorted(slots) == [1000.0 + 0.5 * i for i in range(40)]


def test_two_workers_pace_one_telegram_chat_together(url: str) -> None:
    """Messages to one chat from two workers still go about one per second."""
    one, two = ChannelState(url), ChannelState(url)
    pacers = [_Pacer(one), _Pacer(two)]
    moments: list[float] = []

    async def send() -> None:
        for number in range(3):
            await pacers[number % 2].wait_turn(42)
            moments.append(time.time())

    asyncio.run(send())
    assert all(b - a >= 0.95 for a, b in itertools.pairwise(moments))
    one.dispose()
    two.dispose()
