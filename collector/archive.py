"""The optional MongoDB event archive: full payloads live here, expired by a TTL index, when ERRLOG_MONGO_URL is set."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import parse_qsl, urlsplit

from collector.pipeline import PreparedEvent

# pymongo is imported where it is used: a collector without ERRLOG_MONGO_URL never loads it (~4 MiB a worker).
if TYPE_CHECKING:
    from pymongo import MongoClient
    from pymongo.errors import BulkWriteError

COLLECTION = "events"
TTL_INDEX = "received_at_ttl"
DEFAULT_DATABASE = "errlog"

# Used when the URL does not say otherwise (its own w=, journal=, timeoutMS= win).
_CLIENT_DEFAULTS: dict[str, Any] = {
    # A 2xx promises the payload is stored: acknowledged by a majority, so a failover keeps it...
    "w": "majority",
    # ...and in the journal, so a crash of the node that acknowledged it keeps it too.
    "journal": True,
    # The writer thread waits on these calls: a dead archive must turn into a 503 soon, not hang ingest.
    "timeoutMS": 5000,
}
# Building a new index on a large existing collection (an upgrade) takes far longer than one event write may. The
# server is pinged first with the ordinary timeout, so only a server lost mid-setup waits this long.
_SCHEMA_TIMEOUT_SECONDS = 300

_DUPLICATE_KEY = 11000
_NAMESPACE_EXISTS = 48
_ACCESS_DENIED = {13, 18}  # Unauthorized, AuthenticationFailed: the archive is misconfigured, not the event bad
_INT64 = range(-(2**63), 2**63)

VALIDATOR: dict[str, Any] = {
    "$jsonSchema": {
        "bsonType": "object",
        "required": ["_id", "project_id", "event_id", "issue_id", "timestamp", "received_at", "payload"],
        "additionalProperties": False,
        "properties": {
            "_id": {"bsonType": "string", "description": "<project_id>:<event_id>, so a retried event is one document"},
            "project_id": {"bsonType": ["int", "long"], "minimum": 1},
            "event_id": {"bsonType": "string", "pattern": "^[0-9a-f]{32}$"},
            "issue_id": {"bsonType": ["int", "long"], "minimum": 1},
            "timestamp": {"bsonType": "date"},
            "received_at": {"bsonType": "date", "description": "the TTL index expires documents by this"},
            "payload": {"bsonType": "object", "description": "the scrubbed, normalised event"},
        },
    }
}


class ArchiveError(Exception):
    """The archive refused a write or a setup step; the message says what and why."""


class ArchiveUnavailable(ArchiveError):
    """The archive cannot be reached or did not acknowledge durably: storage is out, the client should retry (503)."""


class EventRow(Protocol):
    project_id: int
    event_id: str
    payload: dict[str, Any] | None


def _is_outage(exc: BaseException) -> bool:
    """Failures of the connection, the replica set or the credentials: the server is away, not the document bad."""
    from pymongo.errors import BulkWriteError, ConnectionFailure, OperationFailure, PyMongoError, WriteConcernError

    if isinstance(exc, ConnectionFailure | WriteConcernError):  # WTimeoutError is a WriteConcernError
        return True
    if isinstance(exc, BulkWriteError):
        return bool(exc.details.get("writeConcernErrors"))
    if isinstance(exc, OperationFailure) and (exc.code in _ACCESS_DENIED or exc.has_error_label("RetryableWriteError")):
        return True
    return isinstance(exc, PyMongoError) and exc.timeout


def _failure(exc: BaseException, doing: str, detail: str | None = None) -> ArchiveError:
    detail = (detail or str(exc) or type(exc).__name__).splitlines()[0][:300]
    if _is_outage(exc):
        return ArchiveUnavailable(f"the MongoDB archive is unavailable while {doing}: {detail}")
    return ArchiveError(f"the MongoDB archive failed while {doing}: {detail}")


def _document_key(project_id: int, event_id: str) -> str:
    return f"{project_id}:{event_id}"


def _fit_ints(payload: dict[str, Any]) -> dict[str, Any]:
    """BSON integers have 64 bits and JSON's have no limit: larger ones are kept as text (in place) rather than
    refusing the event."""
    stack: list[dict[str, Any] | list[Any]] = [payload]
    while stack:
        container = stack.pop()
        pairs = container.items() if isinstance(container, dict) else enumerate(container)
        for key, value in pairs:
            if isinstance(value, dict | list):
                stack.append(value)
            elif isinstance(value, int) and not isinstance(value, bool) and value not in _INT64:
                container[key] = str(value)  # type: ignore[index]
    return payload


def _document(item: PreparedEvent, issue_id: int) -> dict[str, Any]:
    return {
        "_id": _document_key(item.project_id, item.event_id),
        "project_id": item.project_id,
        "event_id": item.event_id,
        "issue_id": issue_id,
        "timestamp": item.timestamp,
        "received_at": item.received_at,
        "payload": _fit_ints(item.payload),
    }


class EventArchive:
    """The `events` collection of one MongoDB database. Thread-safe as MongoClient is; one per process."""

    def __init__(self, client: MongoClient[dict[str, Any]], *, database: str, retention_days: int) -> None:
        if isinstance(retention_days, bool) or not isinstance(retention_days, int) or retention_days < 1:
            raise ValueError(f"retention_days must be a whole number of days >= 1, not {retention_days!r}")
        self.client = client
        self.database = database
        self.retention_days = retention_days
        self._db = client[database]
        self.collection = self._db[COLLECTION]

    @classmethod
    def from_url(cls, url: str, *, retention_days: int, database: str | None = None) -> EventArchive:
        """An archive at `url` (mongodb:// or mongodb+srv://). The database is `database`, else the URL's path,
        else "errlog". Nothing is contacted yet: call `ensure_schema()` before the first write."""
        if not url.startswith(("mongodb://", "mongodb+srv://")):
            raise ArchiveError("the MongoDB URL must start with mongodb:// or mongodb+srv://")
        from pymongo import MongoClient
        from pymongo.errors import ConfigurationError

        given = {key.lower() for key, _ in parse_qsl(urlsplit(url).query, keep_blank_values=True)}
        options = {key: value for key, value in _CLIENT_DEFAULTS.items() if key.lower() not in given}
        try:
            client: MongoClient[dict[str, Any]] = MongoClient(url, tz_aware=True, **options)
        except (ConfigurationError, ValueError) as exc:  # InvalidURI, bad options, a port out of range
            raise ArchiveError(f"invalid MongoDB URL: {exc}") from None
        name = database or client.get_default_database(DEFAULT_DATABASE).name
        return cls(client, database=name, retention_days=retention_days)

    @property
    def ttl_seconds(self) -> int:
        return self.retention_days * 86_400

    def ensure_schema(self) -> None:
        """Create (or bring up to date) the collection's validator and indexes; safe to run at every start."""
        import pymongo
        from pymongo import ASCENDING, IndexModel
        from pymongo.errors import PyMongoError

        self.ping()  # with the ordinary timeout: an unreachable server fails here, fast
        try:
            with pymongo.timeout(_SCHEMA_TIMEOUT_SECONDS):
                self._ensure_collection()
                self._ensure_ttl_index()
                self.collection.create_indexes(
                    [
                        IndexModel([("project_id", ASCENDING), ("received_at", ASCENDING)], name="project_received"),
                        IndexModel([("issue_id", ASCENDING), ("received_at", ASCENDING)], name="issue_received"),
                    ]
                )
        except PyMongoError as exc:
            raise _failure(exc, "setting up the events collection") from exc

    def _ensure_collection(self) -> None:
        from pymongo.errors import CollectionInvalid, OperationFailure

        validation: dict[str, Any] = {"validator": VALIDATOR, "validationLevel": "strict", "validationAction": "error"}
        found = next(iter(self._db.list_collections(filter={"name": COLLECTION})), None)
        if found is not None:
            if any(found.get("options", {}).get(key) != value for key, value in validation.items()):
                # Only when it differs: collMod locks the collection and needs dbAdmin, not just readWrite.
                self._db.command({"collMod": COLLECTION, **validation})
            return
        try:
            self._db.create_collection(COLLECTION, **validation)
        except (CollectionInvalid, OperationFailure) as exc:
            if isinstance(exc, OperationFailure) and exc.code != _NAMESPACE_EXISTS:
                raise
            # Another collector created it a moment ago, with this same validator or an older one.
            self._db.command({"collMod": COLLECTION, **validation})

    def _ensure_ttl_index(self) -> None:
        from pymongo import ASCENDING

        existing = self.collection.index_information().get(TTL_INDEX)
        if existing is None:
            self.collection.create_index(
                [("received_at", ASCENDING)], name=TTL_INDEX, expireAfterSeconds=self.ttl_seconds
            )
        elif existing.get("expireAfterSeconds") != self.ttl_seconds:
            # ERRLOG_RETENTION_DAYS changed: collMod changes it in place, without rebuilding the index.
            change = {"name": TTL_INDEX, "expireAfterSeconds": self.ttl_seconds}
            self._db.command({"collMod": COLLECTION, "index": change})

    def store(self, items: Sequence[PreparedEvent], issue_ids: Sequence[int]) -> None:
        """Write the payloads of `items` (the i-th belonging to issue `issue_ids[i]`), acknowledged as the write
        concern asks, before returning. Raises ArchiveUnavailable on an outage, ArchiveError if refused."""
        if len(items) != len(issue_ids):
            raise ValueError(f"{len(items)} events but {len(issue_ids)} issue ids")
        documents = [_document(item, issue_id) for item, issue_id in zip(items, issue_ids, strict=True)]
        if not documents:
            return
        from bson.errors import InvalidDocument
        from pymongo.errors import BulkWriteError, PyMongoError

        try:
            self.collection.insert_many(documents, ordered=False)
        except BulkWriteError as exc:
            self._settle_duplicates(exc, documents)
        except (PyMongoError, InvalidDocument) as exc:
            raise _failure(exc, "storing events") from exc

    def _settle_duplicates(self, exc: BulkWriteError, documents: list[dict[str, Any]]) -> None:
        """An existing document is what an earlier attempt left when its SQL commit failed (only events new in SQL
        are archived): it may name an issue that was rolled back, so the new one replaces it."""
        from bson.errors import InvalidDocument
        from pymongo.errors import PyMongoError

        errors = exc.details.get("writeErrors", [])
        refused = [e for e in errors if e.get("code") != _DUPLICATE_KEY]
        concern = exc.details.get("writeConcernErrors", [])
        if concern or refused:
            detail = (concern or refused)[0].get("errmsg") or "unknown write error"
            raise _failure(exc, "storing an event", detail) from exc
        try:
            for error in errors:
                document = documents[error["index"]]
                self.collection.replace_one({"_id": document["_id"]}, document)
        except (PyMongoError, InvalidDocument) as retry_exc:
            raise _failure(retry_exc, "storing events") from retry_exc

    def fetch(self, project_id: int, event_id: str) -> dict[str, Any] | None:
        """The payload of one event, or None if the archive does not hold it (never stored, or expired)."""
        from pymongo.errors import PyMongoError

        try:
            found = self.collection.find_one({"_id": _document_key(project_id, event_id)}, {"payload": True})
        except PyMongoError as exc:
            raise _failure(exc, "reading an event") from exc
        if found is None:
            return None
        payload: dict[str, Any] = found["payload"]
        return payload

    def ping(self) -> None:
        """Raises ArchiveUnavailable unless the server answers."""
        from pymongo.errors import PyMongoError

        try:
            self.client.admin.command("ping")
        except PyMongoError as exc:
            raise ArchiveUnavailable(f"the MongoDB archive is unavailable: {exc}".splitlines()[0][:300]) from exc

    def close(self) -> None:
        self.client.close()


def load_payload(event: EventRow, archive: EventArchive | None) -> dict[str, Any] | None:
    """An event's payload: from its row, else from the archive. None if neither holds it (the archive expired it,
    or it is not configured any more). Raises ArchiveUnavailable when the archive cannot be read."""
    if event.payload is not None:
        return event.payload
    if archive is None:
        return None
    return archive.fetch(event.project_id, event.event_id)
