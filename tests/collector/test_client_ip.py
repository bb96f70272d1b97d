"""The sender's address as the user's, where the SDK asks for it (Relay's rule): anonymous users of a browser app
count apart, a trusted proxy's X-Forwarded-For is believed and a forged one from elsewhere is not."""

from __future__ import annotations

import datetime as dt
from typing import Any

import httpx
import pytest
from sqlalchemy import select, update

from collector.normalize import AUTO_IP, normalize_sentry_event, user_key
from collector.scrub import FILTERED
from db.models import Event, Issue, Project
from tests.collector.envelopes import auth_header, key_of, make_envelope, make_event

NOW = dt.datetime(2026, 11, 29, 12, 0, tzinfo=dt.UTC)
CLIENT = "203.0.113.7"


def normalized(client_ip: str | None = CLIENT, **fields: Any) -> dict[str, Any]:
    return normalize_sentry_event(make_event(**fields), received_at=NOW, client_ip=client_ip)


def settings(infer_ip: str) -> dict[str, Any]:
    return {"name": "sentry.javascript.browser", "version": "11.12.0", "settings": {"infer_ip": infer_ip}}


@pytest.mark.parametrize(
    ("fields", "user"),
    [
        ({"user": {"id": "7", "ip_address": AUTO_IP}}, {"id": "7", "ip_address": CLIENT}),
        ({"platform": "javascript"}, {"ip_address": CLIENT}),  # older browser SDKs: no setting, a device platform
        ({"platform": "cocoa", "user": {"id": "7"}}, {"id": "7", "ip_address": CLIENT}),
        ({"platform": "python"}, None),  # a server's events: its own address says nothing of the user
        ({"platform": "python", "sdk": settings("auto")}, {"ip_address": CLIENT}),
        ({"platform": "javascript", "sdk": settings("never")}, None),
        ({"platform": "javascript", "sdk": settings("never"), "user": {"ip_address": AUTO_IP}}, {"ip_address": None}),
        ({"platform": "javascript", "user": {"ip_address": "198.51.100.4"}}, {"ip_address": "198.51.100.4"}),
    ],
    ids=[
        "auto-placeholder",
        "legacy-browser",
        "legacy-mobile",
        "server",
        "setting-auto",
        "never",
        "never-drops",
        "kept",
    ],
)
def test_the_user_address_is_inferred_as_relay_does(fields: dict[str, Any], user: dict[str, Any] | None) -> None:
    assert normalized(**fields)["user"] == user


def test_a_placeholder_remote_addr_is_the_client_and_no_client_infers_nothing() -> None:
    event = normalized(request={"url": "https://shop.example.com/", "env": {"REMOTE_ADDR": AUTO_IP}})
    assert event["request"]["env"]["REMOTE_ADDR"] == CLIENT
    assert normalized(None, platform="javascript")["user"] is None


def test_a_scrubbed_address_names_no_user() -> None:
    assert user_key({"ip_address": FILTERED}) is None
    assert user_key({"ip_address": FILTERED, "username": "ann"}) == "username:ann"


def send(collector: Any, dsn: str, source: str, headers: dict[str, str] | None = None) -> None:
    """An anonymous browser error, sent from the local address `source`."""
    event = make_event("cart failed", platform="javascript")
    with httpx.Client(base_url=collector.url, transport=httpx.HTTPTransport(local_address=source)) as client:
        answer = client.post(
            f"/api/{dsn.rsplit('/', 1)[1]}/envelope/",
            content=make_envelope(event),
            headers={"Content-Type": "text/plain", **auth_header(key_of(dsn)), **(headers or {})},
        )
    assert answer.status_code == 200, answer.text


def test_anonymous_browser_users_count_apart_by_their_address(collector):
    _, dsn, _ = collector.create_project()
    for source in ("127.0.0.2", "127.0.0.3", "127.0.0.3"):
        send(collector, dsn, source)
    with collector.session() as session:
        [issue] = session.scalars(select(Issue))
        keys = [event.user_key for event in session.scalars(select(Event).order_by(Event.id))]
    assert keys == ["ip_address:127.0.0.2", "ip_address:127.0.0.3", "ip_address:127.0.0.3"]
    assert (issue.times_seen, issue.users_affected) == (3, 2)


def test_only_a_trusted_proxy_says_where_the_client_is(collector):
    _, dsn, _ = collector.create_project()
    forwarded = {"X-Forwarded-For": CLIENT}
    send(collector, dsn, "127.0.0.1", forwarded)  # the trusted proxy (ERRLOG_TRUSTED_PROXIES' default)
    send(collector, dsn, "127.0.0.2", forwarded)  # anyone else claiming to forward
    with collector.session() as session:
        keys = [event.user_key for event in session.scalars(select(Event).order_by(Event.id))]
    assert keys == [f"ip_address:{CLIENT}", "ip_address:127.0.0.2"]


def test_a_project_that_scrubs_addresses_counts_no_anonymous_user(collector):
    project_id, dsn, _ = collector.create_project()
    with collector.session() as session:
        session.execute(update(Project).where(Project.id == project_id).values(scrub_ip_addresses=True))
        session.commit()
    send(collector, dsn, "127.0.0.2")
    send(collector, dsn, "127.0.0.3")
    with collector.session() as session:
        [issue] = session.scalars(select(Issue))
        [first, _] = session.scalars(select(Event).order_by(Event.id))
        assert (first.user_key, first.payload["user"]) == (None, {"ip_address": FILTERED})
    assert (issue.times_seen, issue.users_affected) == (2, 0)
