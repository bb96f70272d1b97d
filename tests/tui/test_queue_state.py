"""The queue's rows between refreshes: full reads replace, change reads merge in the server's order, rows that
left go, rows of pages not read yet stay out, answers to an older search are dropped."""

from __future__ import annotations

import datetime as dt

from tui.models import ErrorSummary
from tui.queue_state import QueueState, Snapshot, effective_query, sort_key

NOW = dt.datetime(2026, 3, 1, 12, 0, tzinfo=dt.UTC)


def row(error_id: int, severity: str = "high", minutes_ago: int = 0, **fields: object) -> ErrorSummary:
    seen = NOW - dt.timedelta(minutes=minutes_ago)
    return ErrorSummary.model_validate(
        {
            "id": error_id,
            "project_id": 1,
            "service": "shop",
            "title": f"error {error_id}",
            "severity": severity,
            "status": "unresolved",
            "first_seen": seen,
            "last_seen": seen,
            "times_seen": 1,
            "users_affected": 0,
            "updated_at": seen,
            **fields,
        }
    )


def full(state: QueueState, rows: list[ErrorSummary], next_cursor: str | None = None) -> set[int] | None:
    return state.apply(Snapshot("full", state.generation, rows, next_cursor, server_time=NOW))


def changes(state: QueueState, rows: list[ErrorSummary], gone: frozenset[int] = frozenset()) -> set[int] | None:
    return state.apply(Snapshot("changes", state.generation, rows, gone=set(gone), server_time=NOW))


def test_full_read_replaces_and_sets_the_change_mark() -> None:
    state = QueueState()
    assert full(state, [row(1, "critical"), row(2)]) is None
    assert state.order == [1, 2]
    assert state.changed_since == NOW - dt.timedelta(seconds=5)


def test_changes_merge_in_the_servers_order() -> None:
    state = QueueState()
    full(state, [row(1, "critical", 5), row(2, "high", 1), row(3, "low", 0)])
    changed = changes(state, [row(4, "critical", 0), row(2, "high", 0, times_seen=9)], gone={3})
    assert state.order == [4, 1, 2]  # the new critical above the older one; the low one left
    assert changed == {4, 2}
    assert state.errors[2].times_seen == 9


def test_a_new_row_beyond_the_loaded_page_waits_for_that_page() -> None:
    state = QueueState()
    full(state, [row(1, "critical"), row(2, "high")], next_cursor="more")
    changes(state, [row(9, "low"), row(8, "critical", 0)])
    assert state.order == [8, 1, 2]  # 9 sorts after the last loaded row: it comes with the next page


def test_an_answer_to_an_older_search_is_dropped() -> None:
    state = QueueState()
    full(state, [row(1)])
    old = Snapshot("full", state.generation, [row(2)], server_time=NOW)
    state.restart(query="level:critical")
    assert state.apply(old) == set()
    assert state.order == [1] and state.fresh


def test_a_window_re_read_keeps_rows_scrolled_to_and_drops_rows_that_left() -> None:
    state = QueueState()
    full(state, [row(i, "high", i) for i in range(1, 4)], next_cursor="c1")
    state.order += [4, 5]  # a second page was read
    state.errors.update({4: row(4, "high", 4), 5: row(5, "high", 5)})
    state.next_cursor = "c2"
    state.fresh = False
    # The window re-read returns rows 1 and 3 only: 2 left the queue; 4 and 5 lie beyond the window and stay.
    state.apply(Snapshot("full", state.generation, [row(1, "high", 1), row(3, "high", 3)], "c1", server_time=NOW))
    assert state.order == [1, 3, 4, 5]
    assert state.next_cursor == "c2"


def test_sort_keys_match_the_server() -> None:
    errors = [row(1, "low", 0), row(2, "critical", 30), row(3, "critical", 1), row(4, "high", 0)]
    by = sort_key("severity")
    assert [e.id for e in sorted(errors, key=by, reverse=True)] == [3, 2, 4, 1]
    assert [e.id for e in sorted(errors, key=sort_key("last_seen"), reverse=True)] == [4, 1, 3, 2]


def test_effective_query() -> None:
    assert effective_query("") == "is:unresolved"
    assert effective_query(" level:critical ") == "is:unresolved level:critical"
    assert effective_query("is:resolved service:shop") == "is:resolved service:shop"
    assert effective_query("!is:acknowledged") == "!is:acknowledged"
