"""The Sentry endpoints over real HTTP: auth, encodings, CORS, dedupe, and a table of bad inputs."""

from __future__ import annotations

import base64
import gzip
import json
import socket
import time
import zlib
from concurrent.futures import ThreadPoolExecutor

import brotli
import pytest
from sqlalchemy import func, select

from collector.ingest_asgi import REQUESTS_PER_CONNECTION, IngestEndpoint
from db.models import Event, Issue
from tests.collector.envelopes import auth_header, key_of, make_envelope, make_event


def stored_events(collector) -> int:
    with collector.session() as session:
        return session.scalar(select(func.count()).select_from(Event)) or 0


@pytest.fixture
def project(collector):
    project_id, dsn, _ = collector.create_project()
    return project_id, dsn, key_of(dsn)


def post_envelope(client, project_id, body, headers=None, params=None):
    return client.post(
        f"/api/{project_id}/envelope/",
        content=body,
        headers={"Content-Type": "application/x-sentry-envelope", **(headers or {})},
        params=params,
    )


def test_envelope_with_auth_header_is_stored_and_answers_its_id(collector, project):
    project_id, _, key = project
    event = make_event()
    with collector.client() as client:
        response = post_envelope(client, project_id, make_envelope(event), auth_header(key))
    assert response.status_code == 200, response.text
    assert response.json() == {"id": event["event_id"]}
    assert stored_events(collector) == 1


def test_browser_style_query_key_and_items_without_length(collector, project):
    project_id, _, key = project
    body = make_envelope(make_event(), with_length=False)
    with collector.client() as client:
        response = client.post(
            f"/api/{project_id}/envelope/",
            content=body,
            params={"sentry_key": key},
            headers={"Content-Type": "text/plain"},
        )
    assert response.status_code == 200, response.text
    assert stored_events(collector) == 1


def test_null_entries_in_exceptions_frames_and_breadcrumbs_are_left_out(collector, project):
    # Relay keeps a null in these lists as an empty slot; it says nothing, so it is dropped rather than failing the
    # event (it once was a 500).
    project_id, _, key = project
    event = make_event(
        exception={"values": [None, {"type": "KeyError", "stacktrace": {"frames": [None, {"function": "pay"}]}}]},
        breadcrumbs={"values": [None, {"message": "clicked"}]},
    )
    with collector.client() as client:
        response = post_envelope(client, project_id, make_envelope(event), auth_header(key))
        assert response.status_code == 200, response.text
        number = post_envelope(
            client, project_id, make_envelope(make_event(breadcrumbs=[{"message": "a"}, 7])), auth_header(key)
        )
        assert number.status_code == 400
        assert number.json()["detail"] == "event.breadcrumbs.values[1]: must be an object"
    with collector.session() as session:
        stored = session.scalars(select(Event)).one()
        issue = session.scalars(select(Issue)).one()
    (exception,) = stored.payload["exception"]["values"]
    assert [frame["function"] for frame in exception["stacktrace"]["frames"]] == ["pay"]
    assert [crumb["message"] for crumb in stored.payload["breadcrumbs"]["values"]] == ["clicked"]
    assert issue.title.startswith("KeyError")


def test_envelope_dsn_header_authenticates(collector, project):
    project_id, dsn, _ = project
    with collector.client() as client:
        response = post_envelope(client, project_id, make_envelope(make_event(), dsn=dsn))
    assert response.status_code == 200, response.text


@pytest.mark.parametrize("encoding", ["gzip", "deflate", "deflate-raw", "br"])
def test_compressed_bodies(collector, project, encoding):
    project_id, _, key = project
    body = make_envelope(make_event())
    compressed = {
        "gzip": lambda b: gzip.compress(b),
        "deflate": lambda b: zlib.compress(b),
        "deflate-raw": _raw_deflate,
        "br": lambda b: brotli.compress(b),
    }[encoding](body)
    header = "deflate" if encoding.startswith("deflate") else encoding
    with collector.client() as client:
        response = post_envelope(client, project_id, compressed, {**auth_header(key), "Content-Encoding": header})
    assert response.status_code == 200, response.text
    assert stored_events(collector) == 1


def _raw_deflate(data: bytes) -> bytes:
    compressor = zlib.compressobj(wbits=-15)
    return compressor.compress(data) + compressor.flush()


def test_store_endpoint_takes_json_and_old_base64_zlib_bodies(collector, project):
    project_id, _, key = project
    plain, legacy = make_event("first"), make_event("second")
    with collector.client() as client:
        first = client.post(f"/api/{project_id}/store/", json=plain, headers=auth_header(key))
        second = client.post(
            f"/api/{project_id}/store/",
            content=base64.b64encode(zlib.compress(json.dumps(legacy).encode())),
            headers=auth_header(key),
        )
    assert (first.status_code, second.status_code) == (200, 200), (first.text, second.text)
    assert second.json() == {"id": legacy["event_id"]}
    assert stored_events(collector) == 2


# JSON the standard parser refuses although it is well formed: each once was a 500.
TOO_DEEP = b'{"message": "x", "extra": ' + b'{"a": ' * 5000 + b"1" + b"}" * 5001
TOO_LONG_A_NUMBER = b'{"message": "x", "extra": {"n": ' + b"7" * 5000 + b"}}"


@pytest.mark.parametrize(
    ("body", "reason"),
    [(TOO_DEEP, "event: JSON nested too deeply"), (TOO_LONG_A_NUMBER, "event: invalid JSON: a number has more than")],
    ids=["nesting", "number"],
)
def test_store_endpoint_refuses_json_python_cannot_read_with_a_reason(collector, project, body, reason):
    project_id, _, key = project
    with collector.client() as client:
        response = client.post(f"/api/{project_id}/store/", content=body, headers=auth_header(key))
        assert response.status_code == 400, response.text
        assert response.json()["detail"].startswith(reason)
        assert client.get("/api/error-logging/webhook/health/").status_code == 200
    assert stored_events(collector) == 0


def test_the_same_event_id_twice_is_stored_and_counted_once(collector, project):
    project_id, _, key = project
    body = make_envelope(make_event())
    with collector.client() as client:
        answers = [post_envelope(client, project_id, body, auth_header(key)).status_code for _ in range(3)]
    assert answers == [200, 200, 200]
    assert stored_events(collector) == 1
    with collector.session() as session:
        assert session.scalar(select(Issue.times_seen)) == 1


def test_lone_surrogates_are_stored_as_replacement_characters(collector, project):
    """A JavaScript string cut in the middle of an emoji (an SDK's length limit) reaches us as a lone surrogate
    escape; no database takes one, and the event used to be refused (400)."""
    project_id, _, key = project
    event = make_event("cut \ud83d", tags={"t": "x\udc00"}, extra={"k\ud800": ["ok \ud83d\ude00", "\udfff"]})
    body = make_envelope(event)
    assert b"\\ud83d" in body  # escaped by json.dumps as JSON.stringify does
    with collector.client() as client:
        response = post_envelope(client, project_id, body, auth_header(key))
    assert response.status_code == 200, response.text
    with collector.session() as session:
        stored = session.scalars(select(Event).where(Event.event_id == event["event_id"])).one()
        title = session.get(Issue, stored.issue_id).title
    assert title == "ValueError: cut \ufffd"
    assert stored.tags["t"] == "x\ufffd"
    assert stored.payload["extra"] == {"k\ufffd": ["ok \U0001f600", "\ufffd"]}


def test_envelopes_without_an_event_are_accepted_and_keep_nothing(collector, project):
    project_id, _, key = project
    session_item = ({"type": "session"}, json.dumps({"sid": "x", "status": "ok"}).encode())
    report = ({"type": "client_report"}, b'{"discarded_events": []}')
    unknown = ({"type": "something_new"}, b"\x00\x01binary")
    with collector.client() as client:
        response = post_envelope(
            client, project_id, make_envelope(None, extra_items=[session_item, report, unknown]), auth_header(key)
        )
    assert response.status_code == 200
    assert stored_events(collector) == 0


def test_unknown_items_beside_an_event_are_skipped_not_failed(collector, project):
    project_id, _, key = project
    body = make_envelope(
        make_event(),
        extra_items=[({"type": "attachment", "filename": "a.txt"}, b"hello"), ({"type": "future_thing"}, b"{}")],
    )
    with collector.client() as client:
        response = post_envelope(client, project_id, body, auth_header(key))
    assert response.status_code == 200, response.text
    assert stored_events(collector) == 1


def test_cors_preflight_for_browser_sdks(collector, project):
    project_id, _, _ = project
    with collector.client() as client:
        response = client.options(
            f"/api/{project_id}/envelope/",
            headers={
                "Origin": "https://shop.example.com",
                "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": "content-type",
            },
        )
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] in ("*", "https://shop.example.com")


def _gzip_bomb() -> bytes:
    compressor = zlib.compressobj(9, zlib.DEFLATED, 31)
    chunk = b"\0" * (1 << 20)
    parts = [compressor.compress(chunk) for _ in range(200)]  # 200 MiB of zeros, ~200 KiB compressed
    return b"".join(parts) + compressor.flush()


BAD_INPUTS = [
    # (name, body, extra headers, status, reason fragment)
    (
        "truncated gzip",
        lambda: gzip.compress(make_envelope(make_event()))[:-20],
        {"Content-Encoding": "gzip"},
        400,
        "gzip",
    ),
    ("gzip bomb", _gzip_bomb, {"Content-Encoding": "gzip"}, 413, "exceeds"),
    ("unknown encoding", lambda: b"xx", {"Content-Encoding": "zstd-9000"}, 415, "zstd"),
    ("invalid JSON header", lambda: b"{not json\n", {}, 400, "header"),
    ("invalid JSON event", lambda: b'{}\n{"type":"event"}\n{"exception": \n', {}, 400, "JSON"),
    ("event not an object", lambda: b'{}\n{"type":"event"}\n[1,2,3]\n', {}, 400, "object"),
    ("wrong type: tags", lambda: make_envelope(make_event(tags=5)), {}, 400, "tags"),
    ("wrong type: level", lambda: make_envelope(make_event(level=["error"])), {}, 400, "level"),
    (
        "wrong type: lineno",
        lambda: make_envelope(
            make_event(exception={"values": [{"type": "E", "stacktrace": {"frames": [{"lineno": "ten"}]}}]})
        ),
        {},
        400,
        "lineno",
    ),
    ("invalid UTF-8", lambda: b'{}\n{"type":"event"}\n{"message": "\xff\xfe"}\n', {}, 400, "UTF-8"),
    ("bad length", lambda: b'{}\n{"type":"event","length":500}\n{}\n', {}, 400, "length"),
    ("negative length", lambda: b'{}\n{"type":"event","length":-1}\n{}\n', {}, 400, "length"),
    (
        "two events",
        lambda: make_envelope(make_event(), extra_items=[({"type": "event"}, json.dumps(make_event()).encode())]),
        {},
        400,
        "more than one event",
    ),
    ("bad event id", lambda: make_envelope(make_event(event_id="not-a-uuid")), {}, 400, "event_id"),
    ("event over 1 MiB", lambda: make_envelope(make_event("x" * (1 << 20))), {}, 413, "exceeds"),
    ("body over 20 MiB", lambda: b"{}\n" + b" " * (21 << 20), {}, 413, "exceeds"),
]


@pytest.mark.parametrize(("name", "body", "headers", "status", "reason"), BAD_INPUTS, ids=[b[0] for b in BAD_INPUTS])
def test_bad_input_gets_its_4xx_and_reason_and_stores_nothing(collector, project, name, body, headers, status, reason):
    project_id, _, key = project
    with collector.client() as client:
        response = post_envelope(client, project_id, body(), {**auth_header(key), **headers})
        assert response.status_code == status, response.text
        assert reason.lower() in response.json()["detail"].lower()
        assert response.headers["x-sentry-error"]
        assert client.get("/api/error-logging/webhook/health/").status_code == 200
        good = post_envelope(client, project_id, make_envelope(make_event()), auth_header(key))
        assert good.status_code == 200
    assert stored_events(collector) == 1  # only the good one


def test_oversized_request_headers_are_refused(collector, project):
    project_id, _, key = project
    with collector.client() as client:
        response = post_envelope(
            client, project_id, make_envelope(make_event()), {**auth_header(key), "X-Junk": "a" * (200 * 1024)}
        )
        assert 400 <= response.status_code < 500
        assert client.get("/api/error-logging/webhook/health/").status_code == 200
    assert stored_events(collector) == 0


@pytest.mark.parametrize(
    ("auth", "reason"),
    [
        ({}, "missing"),
        ({"X-Sentry-Auth": "Sentry sentry_key=0123456789abcdef0123456789abcdef"}, "unknown"),
    ],
)
def test_missing_or_wrong_key_is_403(collector, project, auth, reason):
    project_id, _, _ = project
    with collector.client() as client:
        response = post_envelope(client, project_id, make_envelope(make_event()), auth)
    assert response.status_code == 403
    assert reason in response.json()["detail"]
    assert stored_events(collector) == 0


def test_another_projects_key_is_403(collector, project):
    project_id, _, _ = project
    _, other_dsn, _ = collector.create_project("billing")
    with collector.client() as client:
        response = post_envelope(client, project_id, make_envelope(make_event()), auth_header(key_of(other_dsn)))
    assert response.status_code == 403
    assert "another project" in response.json()["detail"]
    assert stored_events(collector) == 0


def test_many_senders_retrying_the_same_ids_store_each_once(collector, project):
    project_id, _, key = project
    envelopes = [make_envelope(make_event(f"error {i % 7}")) for i in range(60)]
    acked: set[str] = set()

    def send(body: bytes) -> None:
        with collector.client() as client:
            response = post_envelope(client, project_id, body, auth_header(key))
            if response.status_code == 200:
                acked.add(response.json()["id"])

    with ThreadPoolExecutor(16) as pool:
        list(pool.map(send, envelopes * 4))  # every envelope sent four times, concurrently
    with collector.session() as session:
        stored = set(session.scalars(select(Event.event_id)))
        counted = session.scalar(select(func.sum(Issue.times_seen)))
    assert stored == acked
    assert len(stored) == 60 and counted == 60


@pytest.mark.parametrize("key_ok", [True, False], ids=["accepted", "refused"])
def test_browser_posts_get_cors_headers_so_the_sdk_can_read_the_answer(collector, project, key_ok):
    project_id, _, key = project
    params = {"sentry_key": key if key_ok else "0123456789abcdef0123456789abcdef"}
    with collector.client() as client:
        response = client.post(
            f"/api/{project_id}/envelope/",
            content=make_envelope(make_event()),
            params=params,
            headers={"Origin": "https://shop.example.com", "Content-Type": "text/plain"},
        )
    assert response.status_code == (200 if key_ok else 403)
    assert response.headers["access-control-allow-origin"] == "*"
    exposed = {h.strip().lower() for h in response.headers["access-control-expose-headers"].split(",")}
    assert {"x-sentry-error", "x-sentry-rate-limits", "retry-after"} <= exposed


def test_a_server_side_post_gets_no_cors_headers(collector, project):
    project_id, _, key = project
    with collector.client() as client:
        response = post_envelope(client, project_id, make_envelope(make_event()), auth_header(key))
    assert response.status_code == 200
    assert "access-control-allow-origin" not in response.headers


def test_a_preflight_asking_for_a_header_browsers_sdks_do_not_send_is_refused(collector, project):
    project_id, _, _ = project
    with collector.client() as client:
        response = client.options(
            f"/api/{project_id}/store/",
            headers={
                "Origin": "https://shop.example.com",
                "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": "x-not-sentry",
            },
        )
    assert response.status_code == 400
    assert "headers" in response.text


@pytest.mark.parametrize("endpoint", ["envelope", "store"])
def test_other_methods_on_the_ingest_paths_are_405_with_allow(collector, project, endpoint):
    project_id, _, _ = project
    with collector.client() as client:
        response = client.get(f"/api/{project_id}/{endpoint}/")
    assert response.status_code == 405
    assert {m.strip() for m in response.headers["allow"].split(",")} == {"POST", "OPTIONS"}
    assert "GET is not allowed" in response.json()["detail"]


def test_the_envelope_path_without_its_slash_redirects(collector, project):
    project_id, _, key = project
    with collector.client() as client:
        response = post_envelope(client, project_id, make_envelope(make_event()), auth_header(key))
        bare = client.post(f"/api/{project_id}/envelope", content=b"{}\n", headers=auth_header(key))
    assert response.status_code == 200
    assert bare.status_code == 307
    assert bare.headers["location"].endswith(f"/api/{project_id}/envelope/")


def test_a_connection_is_asked_to_close_after_its_hundredth_ingest_answer_and_is_closed(collector, project):
    """So that, with several collector processes on one socket, clients reconnect now and then and the processes
    waiting in accept (the idle ones) take them: no process keeps most of the load for good."""
    project_id, _, key = project
    body = make_envelope(None, extra_items=[({"type": "session"}, b'{"sid": "x", "status": "ok"}')])
    host, port = collector.url.removeprefix("http://").split(":")
    # Counts are by client address and port, kept by the process: a connection of an earlier test from the port this
    # one gets would have left its count behind, and this connection would be closed that much sooner.
    IngestEndpoint.keep_alive.counts.clear()
    head = (
        f"POST /api/{project_id}/envelope/ HTTP/1.1\r\nHost: {host}:{port}\r\n"
        f"X-Sentry-Auth: {auth_header(key)['X-Sentry-Auth']}\r\nContent-Type: application/x-sentry-envelope\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode()
    with socket.create_connection((host, int(port)), timeout=10) as sock, sock.makefile("rb") as answers:
        closes = []
        for _ in range(REQUESTS_PER_CONNECTION):
            sock.sendall(head + body)
            status = answers.readline()
            headers = {}
            while (line := answers.readline()) not in (b"\r\n", b""):
                name, _, value = line.decode("latin-1").partition(":")
                headers[name.strip().lower()] = value.strip()
            answers.read(int(headers["content-length"]))
            assert status.startswith(b"HTTP/1.1 200")
            closes.append(headers.get("connection") == "close")
        assert closes == [False] * (REQUESTS_PER_CONNECTION - 1) + [True]
        assert answers.read() == b""  # and the server did close it


def _large_envelope(event: dict, size: int) -> bytes:
    """An envelope of about `size` bytes: the event and an attachment (accepted and not stored) making up the rest."""
    return make_envelope(event, extra_items=[({"type": "attachment", "filename": "dump.bin"}, b"x" * size)])


@pytest.fixture
def small_body_budget(collector_settings):
    collector_settings["ingest_max_body_bytes"] = 1 << 20


def test_large_bodies_arriving_together_past_the_body_budget_get_503_and_alone_they_pass(
    small_body_budget, collector, project
):
    project_id, _, key = project
    held_back = _large_envelope(make_event("slow upload"), 700_000)
    host, port = collector.url.removeprefix("http://").split(":")
    head = (
        f"POST /api/{project_id}/envelope/ HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/x-sentry-envelope\r\n"
        f"X-Sentry-Auth: Sentry sentry_key={key}\r\nContent-Length: {len(held_back)}\r\n\r\n"
    ).encode()
    with socket.create_connection((host, int(port)), timeout=10) as slow, collector.client() as client:
        slow.sendall(head + held_back[:650_000])  # read by the collector, counted, and the rest not sent yet
        deadline = time.monotonic() + 10
        while True:
            other = post_envelope(
                client, project_id, _large_envelope(make_event("meanwhile"), 500_000), auth_header(key)
            )
            if other.status_code == 503 or time.monotonic() > deadline:
                break
            time.sleep(0.05)  # the slow body was not all read yet
        assert other.status_code == 503, other.text
        assert other.json()["detail"] == "the collector is reading too many large bodies at once, retry later"
        assert other.headers["retry-after"] == "2"
        slow.sendall(held_back[650_000:])
        assert slow.recv(64).startswith(b"HTTP/1.1 200")
        # Alone, a body larger than the whole budget still passes: a large envelope is never refused for good.
        alone = post_envelope(client, project_id, _large_envelope(make_event("alone"), 1_500_000), auth_header(key))
        assert alone.status_code == 200, alone.text
    assert stored_events(collector) == 2
