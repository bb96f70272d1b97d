"""The MongoDB event archive: schema, TTL, store and fetch, duplicates, outages, and the writer storing through it.

Every test runs on mongomock; those taking the `backend` fixture also run on a real server when
ERRLOG_TEST_MONGO_URL is set (see docs/mongodb-archive.md). mongomock enforces no validator and knows no
collMod: where that matters, the test says so.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import socket
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import mongomock
import pymongo
import pytest
from mongomock.collection import Collection as MockCollection
from mongomock.database import Database as MockDatabase
from pymongo.errors import (
    BulkWriteError,
    DocumentTooLarge,
    ExecutionTimeout,
    OperationFailure,
    ServerSelectionTimeoutError,
    WriteConcernError,
    WTimeoutError,
)
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from collector.archive import (
    COLLECTION,
    TTL_INDEX,
    VALIDATOR,
    ArchiveError,
    ArchiveUnavailable,
    EventArchive,
    load_payload,
)
from collector.normalize import normalize_sentry_event
from collector.pipeline import PreparedEvent, ProjectInfo, prepare_event
from collector.scrub import ScrubRules
from collector.storage import StoreOutcome
from collector.writer import EventRejected, IngestWriter, StorageUnavailable
from db.models import Event, Issue
from db.projects import create_project
from db.session import create_db_engine, make_session_factory

MONGO_URL = os.environ.get("ERRLOG_TEST_MONGO_URL")
DAY = 86_400


# --- factories -------------------------------------------------------------------------------------


def make_prepared(project_id: int = 1, *, event_id: str | None = None, **raw: Any) -> PreparedEvent:
    """A prepared event as ingest makes it; received now (to the millisecond BSON keeps), so no TTL reaps it."""
    received = dt.datetime.now(dt.UTC)
    received = received.replace(microsecond=received.microsecond // 1000 * 1000)
    body = {"message": "card declined", "level": "error", "extra": {"order": 981}, **raw}
    event = normalize_sentry_event(body, received_at=received, event_id=event_id or uuid.uuid4().hex)
    item = prepare_event(event, ProjectInfo(project_id, "shop", ScrubRules()), source="sentry", size_bytes=200)
    item.received_at = received
    return item


@dataclass
class Row:
    project_id: int
    event_id: str
    payload: dict[str, Any] | None


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


# --- backends: mongomock always, a real server when ERRLOG_TEST_MONGO_URL is set --------------------


def teach_mongomock(monkeypatch: pytest.MonkeyPatch, options: dict[str, dict[str, Any]], collmods: list[Any]) -> None:
    """mongomock raises NotImplementedError for create_collection(validator=...), list_collections and collMod.
    Keep each collection's options (recorded, not enforced: mongomock validates nothing), answer list_collections
    from them, and apply collMod to them and to the TTL index, so ensure_schema runs against it."""
    create = MockDatabase.create_collection
    command = MockDatabase.command

    def create_collection(self: Any, name: str, **given: Any) -> Any:
        created = create(self, name)
        options[name] = given
        return created

    def list_collections(self: Any, filter: dict[str, str]) -> list[dict[str, Any]]:
        names = self.list_collection_names(filter=filter)
        return [{"name": name, "type": "collection", "options": options.get(name, {})} for name in names]

    def run_command(self: Any, cmd: Any, **kwargs: Any) -> Any:
        if not (isinstance(cmd, dict) and "collMod" in cmd):
            return command(self, cmd, **kwargs)
        collmods.append(cmd)
        name = cmd["collMod"]
        if "index" in cmd:
            change, collection = cmd["index"], self[name]
            keys = collection.index_information()[change["name"]]["key"]
            collection.drop_index(change["name"])
            collection.create_index(keys, name=change["name"], expireAfterSeconds=change["expireAfterSeconds"])
        else:
            options[name] = {**options.get(name, {}), **{k: v for k, v in cmd.items() if k != "collMod"}}
        return {"ok": 1.0}

    monkeypatch.setattr(MockDatabase, "create_collection", create_collection)
    monkeypatch.setattr(MockDatabase, "list_collections", list_collections)
    monkeypatch.setattr(MockDatabase, "command", run_command)


@dataclass
class Backend:
    name: str
    client: Any  # what the test inspects the database with
    database: str
    options: dict[str, dict[str, Any]] = field(default_factory=dict)  # mongomock's collection options
    collmods: list[Any] = field(default_factory=list)  # the collMod commands mongomock was sent
    archives: list[EventArchive] = field(default_factory=list)

    @property
    def real(self) -> bool:
        return self.name == "mongodb"

    def archive(self, retention_days: int = 90) -> EventArchive:
        if self.real:
            assert MONGO_URL is not None
            made = EventArchive.from_url(MONGO_URL, retention_days=retention_days, database=self.database)
        else:
            made = EventArchive(self.client, database=self.database, retention_days=retention_days)
        self.archives.append(made)
        return made

    def collection(self) -> Any:
        return self.client[self.database][COLLECTION]

    def validation(self) -> dict[str, Any]:
        """The collection's validator options as the server holds them."""
        info = next(iter(self.client[self.database].list_collections(filter={"name": COLLECTION})))
        options: dict[str, Any] = info["options"]
        return options


@pytest.fixture(params=["mongomock", pytest.param("mongodb", marks=pytest.mark.mongo)])
def backend(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[Backend]:
    database = f"errlog_test_{uuid.uuid4().hex[:12]}"
    if request.param == "mongomock":
        made = Backend("mongomock", mongomock.MongoClient(tz_aware=True), database)
        teach_mongomock(monkeypatch, made.options, made.collmods)
        yield made
        return
    if not MONGO_URL:
        pytest.skip("ERRLOG_TEST_MONGO_URL is not set: no MongoDB server to test against")
    client: pymongo.MongoClient[dict[str, Any]] = pymongo.MongoClient(MONGO_URL, tz_aware=True)
    made = Backend("mongodb", client, database)
    try:
        yield made
    finally:
        for archive in made.archives:
            archive.close()
        client.drop_database(database)
        client.close()


@pytest.fixture
def unreachable() -> Iterator[EventArchive]:
    """A real pymongo client aimed at a closed port: the archive server is down."""
    archive = EventArchive.from_url(
        f"mongodb://127.0.0.1:{closed_port()}/?timeoutMS=300", retention_days=90, database="errlog_unreachable"
    )
    yield archive
    archive.close()


# --- schema ----------------------------------------------------------------------------------------


def test_ensure_schema_creates_the_validator_and_indexes(backend: Backend) -> None:
    backend.archive(retention_days=90).ensure_schema()

    validation = backend.validation()
    assert validation["validator"] == VALIDATOR
    assert (validation["validationLevel"], validation["validationAction"]) == ("strict", "error")
    indexes = backend.collection().index_information()
    assert list(indexes[TTL_INDEX]["key"]) == [("received_at", 1)]
    assert indexes[TTL_INDEX]["expireAfterSeconds"] == 90 * DAY
    assert list(indexes["project_received"]["key"]) == [("project_id", 1), ("received_at", 1)]
    assert list(indexes["issue_received"]["key"]) == [("issue_id", 1), ("received_at", 1)]


def test_ensure_schema_again_keeps_everything_and_follows_a_new_retention(backend: Backend) -> None:
    backend.archive(retention_days=90).ensure_schema()
    backend.archive(retention_days=90).ensure_schema()  # a second collector starting: nothing to change
    before = set(backend.collection().index_information())

    backend.archive(retention_days=14).ensure_schema()  # ERRLOG_RETENTION_DAYS changed

    indexes = backend.collection().index_information()
    assert set(indexes) == before
    assert indexes[TTL_INDEX]["expireAfterSeconds"] == 14 * DAY
    assert backend.validation()["validator"] == VALIDATOR


def test_an_existing_collection_gets_the_validator(backend: Backend) -> None:
    backend.client[backend.database].create_collection(COLLECTION)  # as an older errlog, or a person, made it

    backend.archive().ensure_schema()

    assert backend.validation()["validator"] == VALIDATOR


def test_an_up_to_date_collection_is_left_alone(backend: Backend) -> None:
    if backend.real:
        pytest.skip("which commands the server receives is only observable on mongomock")
    backend.archive(retention_days=30).ensure_schema()
    backend.collmods.clear()

    backend.archive(retention_days=30).ensure_schema()

    # collMod locks the collection and needs the dbAdmin role: a restart with unchanged settings sends none.
    assert backend.collmods == []


def test_the_validator_rejects_an_invalid_document(backend: Backend) -> None:
    if not backend.real:
        pytest.skip("mongomock does not enforce $jsonSchema validators")
    archive = backend.archive()
    archive.ensure_schema()

    with pytest.raises(pymongo.errors.WriteError) as raised:
        backend.collection().insert_one({"_id": "1:x", "project_id": 1, "payload": "not an object"})
    assert raised.value.code == 121  # DocumentValidationFailure

    # Through the archive: refused, so the writer rejects that one event (400), not an outage (503).
    with pytest.raises(ArchiveError) as refused:
        archive.store([make_prepared(event_id="Z" * 32)], [1])
    assert not isinstance(refused.value, ArchiveUnavailable)
    assert "Document failed validation" in str(refused.value)


@pytest.mark.parametrize("days", [0, -3, 1.5, True])
def test_retention_must_be_whole_days(days: Any) -> None:
    with pytest.raises(ValueError, match="retention_days"):
        EventArchive(mongomock.MongoClient(), database="errlog", retention_days=days)


# --- store and fetch -------------------------------------------------------------------------------


def test_store_then_fetch_round_trips_the_payload(backend: Backend) -> None:
    archive = backend.archive()
    archive.ensure_schema()
    first, second = make_prepared(3), make_prepared(3, message="stock went negative")

    archive.store([first, second], [11, 12])

    assert archive.fetch(3, first.event_id) == first.payload
    assert archive.fetch(3, second.event_id) == second.payload
    assert archive.fetch(4, first.event_id) is None  # event ids are per project
    assert archive.fetch(3, uuid.uuid4().hex) is None
    document = backend.collection().find_one({"_id": f"3:{first.event_id}"})
    assert document["issue_id"] == 11
    assert (document["project_id"], document["event_id"]) == (3, first.event_id)
    assert document["received_at"] == first.received_at
    assert document["timestamp"] == first.timestamp.replace(microsecond=first.timestamp.microsecond // 1000 * 1000)


def test_store_nothing_is_a_no_op(backend: Backend) -> None:
    archive = backend.archive()
    archive.store([], [])
    assert backend.collection().count_documents({}) == 0
    with pytest.raises(ValueError, match="1 events but 2 issue ids"):
        archive.store([make_prepared()], [1, 2])


def test_duplicates_are_not_errors_and_the_latest_attempt_wins(backend: Backend) -> None:
    archive = backend.archive()
    archive.ensure_schema()
    retried, other = make_prepared(), make_prepared()
    archive.store([retried], [5])

    # An earlier attempt's document (its SQL commit failed, its issue rolled back) is replaced, not an error.
    archive.store([retried, other, other], [6, 7, 7])

    assert backend.collection().count_documents({}) == 2
    assert backend.collection().find_one({"_id": f"1:{retried.event_id}"})["issue_id"] == 6
    assert archive.fetch(1, other.event_id) == other.payload


def test_integers_too_big_for_bson_are_kept_as_text(backend: Backend) -> None:
    archive = backend.archive()
    item = make_prepared(extra={"order": 2**70, "small": 7, "flag": True, "ids": [2**64, -(2**63)]})

    archive.store([item], [1])

    extra = archive.fetch(1, item.event_id)["extra"]  # type: ignore[index]
    assert extra == {"order": str(2**70), "small": 7, "flag": True, "ids": [str(2**64), -(2**63)]}


# --- failures: outage (503) or refusal (400) ------------------------------------------------------


def test_an_unreachable_server_is_an_outage(unreachable: EventArchive) -> None:
    with pytest.raises(ArchiveUnavailable, match="unavailable"):
        unreachable.ping()
    with pytest.raises(ArchiveUnavailable, match="while storing events"):
        unreachable.store([make_prepared()], [1])
    with pytest.raises(ArchiveUnavailable, match="while reading an event"):
        unreachable.fetch(1, uuid.uuid4().hex)
    with pytest.raises(ArchiveUnavailable, match="unavailable"):
        unreachable.ensure_schema()


def _bulk_error(code: int | None = None, concern: bool = False) -> BulkWriteError:
    details: dict[str, Any] = {"writeErrors": [], "writeConcernErrors": [], "nInserted": 0}
    if code is not None:
        details["writeErrors"].append({"index": 0, "code": code, "errmsg": f"Document failed validation ({code})"})
    if concern:
        details["writeConcernErrors"].append({"code": 64, "errmsg": "waiting for replication timed out"})
    return BulkWriteError(details)


@pytest.mark.parametrize(
    ("error", "outage", "message"),
    [
        (ServerSelectionTimeoutError("no primary"), True, "no primary"),
        (WTimeoutError("waiting for replication timed out", code=64), True, "waiting for replication"),
        (ExecutionTimeout("operation exceeded time limit", code=50), True, "exceeded time limit"),
        (WriteConcernError("Not enough data-bearing nodes", code=100), True, "data-bearing nodes"),
        (_bulk_error(concern=True), True, "waiting for replication timed out"),
        (_bulk_error(code=11000, concern=True), True, "waiting for replication timed out"),
        (OperationFailure("not authorized on errlog", code=13), True, "not authorized"),
        (OperationFailure("stepdown", code=189, details={"errorLabels": ["RetryableWriteError"]}), True, "stepdown"),
        (_bulk_error(code=121), False, "Document failed validation"),
        (DocumentTooLarge("BSON document too large"), False, "too large"),
        (OperationFailure("bad value", code=2), False, "bad value"),
    ],
)
def test_failures_are_told_apart(monkeypatch: pytest.MonkeyPatch, error: Exception, outage: bool, message: str) -> None:
    """Server answers mongomock cannot produce, raised with the shape pymongo gives them."""
    archive = EventArchive(mongomock.MongoClient(), database="errlog", retention_days=90)

    def fail(*args: Any, **kwargs: Any) -> None:
        raise error

    monkeypatch.setattr(MockCollection, "insert_many", fail)
    with pytest.raises(ArchiveError, match=message) as raised:
        archive.store([make_prepared()], [1])
    assert isinstance(raised.value, ArchiveUnavailable) is outage


def test_url_options_win_over_the_durable_defaults() -> None:
    port = closed_port()
    defaults = EventArchive.from_url(f"mongodb://127.0.0.1:{port}", retention_days=1)
    chosen = EventArchive.from_url(
        f"mongodb://127.0.0.1:{port}/events_db?w=1&journal=false&timeoutMS=100", retention_days=1
    )
    named = EventArchive.from_url(f"mongodb://127.0.0.1:{port}/events_db", retention_days=1, database="other")
    try:
        assert defaults.client.write_concern.document == {"w": "majority", "j": True}
        assert defaults.client.options.timeout == 5.0
        assert defaults.database == "errlog"
        assert chosen.client.write_concern.document == {"w": 1, "j": False}
        assert chosen.client.options.timeout == 0.1
        assert chosen.database == "events_db"
        assert named.database == "other"
    finally:
        for archive in (defaults, chosen, named):
            archive.close()


@pytest.mark.parametrize(
    "url",
    ["postgresql://127.0.0.1/errlog", "mongodb://", "mongodb://127.0.0.1:27017/?w=1&w", "mongodb://127.0.0.1:99999"],
)
def test_a_bad_url_is_a_clear_error(url: str) -> None:
    with pytest.raises(ArchiveError, match="MongoDB URL"):
        EventArchive.from_url(url, retention_days=1)


def test_load_payload_reads_the_row_first_then_the_archive(backend: Backend) -> None:
    archive = backend.archive()
    item = make_prepared(2)
    archive.store([item], [1])

    assert load_payload(Row(2, item.event_id, {"in": "sql"}), archive) == {"in": "sql"}
    assert load_payload(Row(2, item.event_id, None), archive) == item.payload
    assert load_payload(Row(2, uuid.uuid4().hex, None), archive) is None  # expired
    assert load_payload(Row(2, item.event_id, None), None) is None  # the archive is not configured any more


def test_load_payload_reports_an_unreachable_archive(unreachable: EventArchive) -> None:
    assert load_payload(Row(1, uuid.uuid4().hex, {"in": "sql"}), unreachable) == {"in": "sql"}
    with pytest.raises(ArchiveUnavailable):
        load_payload(Row(1, uuid.uuid4().hex, None), unreachable)


# --- the writer storing through the archive --------------------------------------------------------


@pytest.fixture
def sessions(database_url: str) -> Iterator[Any]:
    engine = create_db_engine(database_url)
    yield make_session_factory(engine)
    engine.dispose()


def new_project(sessions: Any) -> int:
    with sessions() as session:
        project_id: int = create_project(session, "shop").project.id
        session.commit()
    return project_id


def submit_all(writer: IngestWriter, items: list[PreparedEvent]) -> list[StoreOutcome | BaseException]:
    async def run() -> list[StoreOutcome | BaseException]:
        return await asyncio.gather(*(writer.submit(item) for item in items), return_exceptions=True)

    return asyncio.run(run())


@pytest.fixture
def writer_for(sessions: Any) -> Iterator[Any]:
    started: list[IngestWriter] = []

    def start(archive: EventArchive | None) -> IngestWriter:
        writer = IngestWriter(sessions, archive=archive, probe_interval=0.01)
        writer.start()
        started.append(writer)
        return writer

    yield start
    for writer in started:
        writer.stop()


def test_with_the_archive_sql_keeps_the_row_and_the_archive_the_payload(
    sessions: Any, db_session: Session, writer_for: Any, backend: Backend
) -> None:
    archive = backend.archive()
    archive.ensure_schema()
    project_id = new_project(sessions)
    items = [make_prepared(project_id), make_prepared(project_id, message="stock went negative")]
    writer = writer_for(archive)

    outcomes = submit_all(writer, items)
    retry = submit_all(writer, [make_prepared(project_id, event_id=items[0].event_id)])

    assert all(isinstance(o, StoreOutcome) and o.stored for o in outcomes)
    assert isinstance(retry[0], StoreOutcome) and not retry[0].stored
    rows = {row.event_id: row for row in db_session.scalars(select(Event))}
    assert set(rows) == {item.event_id for item in items}
    for item in items:
        row = rows[item.event_id]
        assert row.payload is None
        assert row.message == item.message  # the searchable fields stay in SQL
        assert load_payload(row, archive) == item.payload
        document = backend.collection().find_one({"_id": f"{project_id}:{item.event_id}"})
        assert document["issue_id"] == row.issue_id
    assert backend.collection().count_documents({}) == 2


def test_without_the_archive_sql_keeps_the_payload(sessions: Any, db_session: Session, writer_for: Any) -> None:
    project_id = new_project(sessions)
    item = make_prepared(project_id)

    outcome = submit_all(writer_for(None), [item])[0]

    assert isinstance(outcome, StoreOutcome) and outcome.stored
    row = db_session.scalars(select(Event)).one()
    assert row.payload == item.payload
    assert load_payload(row, None) == item.payload


def test_an_archive_outage_fails_the_batch_and_commits_nothing(
    sessions: Any, db_session: Session, writer_for: Any, backend: Backend, monkeypatch: pytest.MonkeyPatch
) -> None:
    archive = backend.archive()
    archive.ensure_schema()
    project_id = new_project(sessions)
    writer = writer_for(archive)

    def no_server(*args: Any, **kwargs: Any) -> None:
        raise ServerSelectionTimeoutError("127.0.0.1:27017: [Errno 111] Connection refused")

    pings: list[None] = []

    def ping_fails() -> None:
        pings.append(None)
        raise ArchiveUnavailable("the MongoDB archive is unavailable: connection refused")

    # The server goes away: writes and pings fail as pymongo reports it.
    monkeypatch.setattr(archive.collection, "insert_many", no_server)
    monkeypatch.setattr(archive, "ping", ping_fails)
    lost = [make_prepared(project_id), make_prepared(project_id)]
    results = submit_all(writer, lost)

    assert all(isinstance(r, StorageUnavailable) for r in results), results
    assert db_session.scalar(select(func.count()).select_from(Event)) == 0
    assert db_session.scalar(select(func.count()).select_from(Issue)) == 0
    # The recovery probe asks the archive too, and keeps ingestion off while it does not answer.
    deadline = time.monotonic() + 30
    while len(pings) < 3 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert len(pings) >= 3, "the recovery probe never asked the archive"
    assert not writer.available
    assert isinstance(submit_all(writer, [make_prepared(project_id)])[0], StorageUnavailable)  # fails fast

    # The server is back: the recovery probe notices and ingestion resumes, archive first.
    monkeypatch.undo()
    deadline = time.monotonic() + 30
    while not writer.available and time.monotonic() < deadline:
        time.sleep(0.01)
    assert writer.available, "ingestion did not resume after the archive came back"
    retried = submit_all(writer, lost)
    assert all(isinstance(r, StoreOutcome) and r.stored for r in retried)
    db_session.expire_all()
    assert db_session.scalar(select(func.count()).select_from(Event)) == 2
    assert all(archive.fetch(project_id, item.event_id) == item.payload for item in lost)


def test_a_refused_document_rejects_only_its_event(
    sessions: Any, db_session: Session, writer_for: Any, backend: Backend, monkeypatch: pytest.MonkeyPatch
) -> None:
    archive = backend.archive()
    archive.ensure_schema()
    project_id = new_project(sessions)
    good, bad = make_prepared(project_id), make_prepared(project_id, event_id="Z" * 32)
    if not backend.real:
        # mongomock enforces no validator: refuse what the real server's validator refuses (event_id pattern).
        insert_many = archive.collection.insert_many

        def validating_insert_many(documents: list[dict[str, Any]], **kwargs: Any) -> Any:
            refused = [i for i, d in enumerate(documents) if d["event_id"] == "Z" * 32]
            accepted = [d for d in documents if d["event_id"] != "Z" * 32]
            if accepted:
                insert_many(accepted, **kwargs)
            if refused:
                errors = [{"index": i, "code": 121, "errmsg": "Document failed validation"} for i in refused]
                raise BulkWriteError({"writeErrors": errors, "writeConcernErrors": []})

        monkeypatch.setattr(archive.collection, "insert_many", validating_insert_many)

    results = submit_all(writer_for(archive), [good, bad])

    assert isinstance(results[0], StoreOutcome) and results[0].stored
    assert isinstance(results[1], EventRejected)
    assert "Document failed validation" in str(results[1])
    assert list(db_session.scalars(select(Event.event_id))) == [good.event_id]
    assert archive.fetch(project_id, good.event_id) == good.payload
    assert archive.fetch(project_id, bad.event_id) is None
