"""The key directory: which project a key belongs to, held in memory and read again as settings change."""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Any

from sqlalchemy.exc import OperationalError

from collector.directory import ProjectDirectory
from collector.pipeline import ProjectInfo
from collector.scrub import ScrubRules, scrub_event
from db.models import Project
from db.models.projects import GROUPING_TRANSITION
from db.projects import create_project
from db.session import create_db_engine, make_session_factory
from db.types import utcnow


def test_a_reload_keeps_a_projects_rules_and_what_they_remember_until_its_settings_change(database_url):
    engine = create_db_engine(database_url)
    sessions = make_session_factory(engine)
    directory = ProjectDirectory(sessions, ScrubRules())

    def projects() -> set[ProjectInfo]:
        directory.load()
        return {info.project for info in directory._keys.values()}

    try:
        with sessions() as session:
            project_id = create_project(session, "shop").project.id
            session.commit()
        assert len(directory._keys) == 0
        [first] = projects()  # its DSN key and its webhook token share one
        assert len(directory._keys) == 2
        scrub_event({"extra": {"note": "remember me"}}, first.scrub_rules)
        assert "remember me" in first.scrub_rules._memory.texts

        [again] = projects()  # nothing changed: the same rules, and their memory, kept
        assert again is first

        with sessions() as session:
            session.get_one(Project, project_id).scrub_emails = True
            session.commit()
        [changed] = projects()
        assert changed is not first and changed.scrub_rules.scrub_emails
        assert "remember me" not in changed.scrub_rules._memory.texts  # other rules remember anew
    finally:
        engine.dispose()


def test_a_projects_previous_grouping_counts_only_while_its_move_is_recent(database_url):
    engine = create_db_engine(database_url)
    sessions = make_session_factory(engine)
    directory = ProjectDirectory(sessions, ScrubRules())
    try:
        with sessions() as session:
            project = create_project(session, "shop").project
            project.grouping_version, project.previous_grouping_version = 2, 1
            project.grouping_moved_at = utcnow() - GROUPING_TRANSITION + dt.timedelta(minutes=1)
            session.commit()
            directory.load()
            assert {info.project.previous_grouping_version for info in directory._keys.values()} == {1}
            project.grouping_moved_at -= dt.timedelta(minutes=2)  # the transition is over
            session.commit()
        directory.load()
        assert {info.project.previous_grouping_version for info in directory._keys.values()} == {None}
    finally:
        engine.dispose()


def test_reloads_go_on_through_an_outage_and_log_its_start_and_end_once(database_url, caplog):
    engine = create_db_engine(database_url)
    real = make_session_factory(engine)
    down = {"turns": 3}

    def sessions() -> Any:
        if down["turns"]:
            down["turns"] -= 1
            raise OperationalError("SELECT ...", {}, ConnectionRefusedError("connection refused"))
        return real()

    with real() as session:
        create_project(session, "shop")
        session.commit()
    directory = ProjectDirectory(sessions, ScrubRules())  # a sessionmaker stand-in that fails for a while

    async def run() -> None:
        task = asyncio.create_task(directory.keep_current(every=0.01))
        while not directory._keys:
            await asyncio.sleep(0.01)
        task.cancel()

    try:
        with caplog.at_level("WARNING", logger="collector.directory"):
            asyncio.run(asyncio.wait_for(run(), 10))
    finally:
        engine.dispose()
    assert len(directory._keys) == 2  # loaded once the database answered again
    assert [record.getMessage().split(" (")[0] for record in caplog.records] == [
        "could not reload the projects' keys and settings",
        "the projects' keys and settings are reloaded again",
    ]
