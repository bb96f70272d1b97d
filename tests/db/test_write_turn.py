"""SQLite's ingest writers take turns on a flock: the second waits in the kernel until the first lets go."""

from __future__ import annotations

import threading
import time

from sqlalchemy import create_engine

from db.write_turn import WriteTurn


def test_a_second_writer_waits_for_the_first_and_goes_the_moment_it_lets_go(tmp_path):
    database = create_engine(f"sqlite:///{tmp_path / 'errlog.db'}")
    # Two open files of the lock, as two collector processes have: flock holds per open file.
    first, second = WriteTurn.for_engine(database), WriteTurn.for_engine(database)
    assert first.path == second.path == f"{tmp_path / 'errlog.db'}-writer.lock"
    order: list[str] = []

    def other() -> None:
        with second:
            order.append("second in")

    with first:
        waiter = threading.Thread(target=other)
        waiter.start()
        time.sleep(0.3)
        order.append("first out")
    waiter.join(timeout=10)
    assert order == ["first out", "second in"]
    first.close()
    second.close()


def test_postgresql_and_in_memory_sqlite_take_no_turn(tmp_path):
    for url in ("postgresql+psycopg://postgres@127.0.0.1/test", "sqlite://", "sqlite:///:memory:"):
        turn = WriteTurn.for_engine(create_engine(url))
        assert turn.path is None
        with turn, turn:  # nothing held: entering twice does not block
            pass
    assert not list(tmp_path.iterdir())
