"""A project's grouping version decides its events' fingerprints: projects made before v2 keep v1 until moved, new
ones start on v2, and moving a project through the API changes how its later events group."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select

from collector.grouping import CURRENT_VERSION
from db.models import Issue, Project
from tests.collector.envelopes import auth_header, key_of, make_envelope

APP = "https://shop.test/assets/app.3f9a1c.js"


def cart_bug(render: str, bug: str = "TypeError") -> dict[str, Any]:
    """One bug as @sentry/browser sends it: V8 names the method `CartView.render`, Firefox and Safari `render`."""
    frames = [
        {"function": "checkout", "abs_path": APP, "filename": APP, "lineno": 9, "colno": 5, "in_app": True},
        {"function": render, "abs_path": APP, "filename": APP, "lineno": 31, "colno": 12, "in_app": True},
    ]
    exception = {"type": bug, "value": "cart is undefined", "stacktrace": {"frames": frames}}
    return {
        "event_id": uuid.uuid4().hex,
        "platform": "javascript",
        "level": "error",
        "exception": {"values": [exception]},
    }


def send_from_both_browsers(
    collector,
    project_id: int,
    dsn: str,
    bug: str = "TypeError",
    renders: tuple[str, ...] = ("CartView.render", "render"),
) -> None:
    with collector.client() as client:
        for render in renders:
            answer = client.post(
                f"/api/{project_id}/envelope/",
                content=make_envelope(cart_bug(render, bug)),
                headers=auth_header(key_of(dsn)),
            )
            assert answer.status_code == 200, answer.text


def issues_of(collector, project_id: int) -> list[tuple[str, int, int]]:
    with collector.session() as session:
        rows = session.execute(
            select(Issue.culprit, Issue.times_seen, Issue.grouping_version)
            .where(Issue.project_id == project_id)
            .order_by(Issue.id)
        )
        return [tuple(row) for row in rows]


def test_a_new_project_groups_one_browser_bug_as_one_error_and_an_old_one_keeps_v1(collector):
    new_id, new_dsn, _ = collector.create_project("web")
    old_id, old_dsn, _ = collector.create_project("legacy-web")
    with collector.session() as session:
        session.get_one(Project, old_id).grouping_version = 1  # as migration 0008 leaves a project made before it
        session.commit()
        assert session.get_one(Project, new_id).grouping_version == CURRENT_VERSION == 2

    send_from_both_browsers(collector, new_id, new_dsn)
    send_from_both_browsers(collector, old_id, old_dsn)

    assert [(times, version) for _, times, version in issues_of(collector, new_id)] == [(2, 2)]
    assert [(times, version) for _, times, version in issues_of(collector, old_id)] == [(1, 1), (1, 1)]
