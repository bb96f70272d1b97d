"""HTTP outcomes classified for retrying: transient (timeouts, refused, 5xx, 408, 429) versus permanent."""

from __future__ import annotations

import datetime as dt

import pytest

from tasks.channels.base import DeliveryError, parse_retry_after, post
from tests.tasks.receivers import Receiver, Reply, closed_port_url


def test_2xx_is_a_result_with_the_answer(receiver: Receiver) -> None:
    receiver.reply(Reply(202, b'{"status":"success"}'))
    result = post(receiver.url + "/x", json={"a": 1}, timeout=5)
    assert (result.status_code, result.detail) == (202, '{"status":"success"}')
    request = receiver.requests[0]
    assert request.json() == {"a": 1}
    assert request.headers["user-agent"].startswith("errlog/")


@pytest.mark.parametrize("status", [500, 502, 503, 408, 429])
def test_server_errors_timeouts_and_throttling_are_transient(receiver: Receiver, status: int) -> None:
    receiver.reply(Reply(status, b"busy\nnow"))
    with pytest.raises(DeliveryError) as caught:
        post(receiver.url, json={}, timeout=5)
    assert caught.value.transient
    assert caught.value.status_code == status
    assert str(caught.value).startswith(f"HTTP {status} ")
    assert str(caught.value).endswith(": busy now")


@pytest.mark.parametrize("status", [400, 401, 403, 404, 410, 422, 301])
def test_other_answers_are_permanent(receiver: Receiver, status: int) -> None:
    receiver.reply(Reply(status, b"no_service"))
    with pytest.raises(DeliveryError) as caught:
        post(receiver.url, json={}, timeout=5)
    assert not caught.value.transient
    assert caught.value.status_code == status


def test_retry_after_seconds_is_kept(receiver: Receiver) -> None:
    receiver.reply(Reply(429, b"slow down", {"Retry-After": "120"}))
    with pytest.raises(DeliveryError) as caught:
        post(receiver.url, json={}, timeout=5)
    assert caught.value.retry_after == 120.0


def test_a_hanging_service_times_out_transiently(receiver: Receiver) -> None:
    receiver.reply(Reply(hang=True))
    with pytest.raises(DeliveryError, match=r"timed out after 0\.3 s") as caught:
        post(receiver.url, json={}, timeout=0.3)
    assert caught.value.transient and caught.value.status_code is None


def test_connection_refused_is_transient() -> None:
    with pytest.raises(DeliveryError, match="ConnectError") as caught:
        post(closed_port_url(), json={}, timeout=5)
    assert caught.value.transient


def test_an_unusable_url_is_permanent() -> None:
    with pytest.raises(DeliveryError, match="unusable URL") as caught:
        post("ftp://127.0.0.1/hook", json={}, timeout=5)
    assert not caught.value.transient


def test_parse_retry_after() -> None:
    now = dt.datetime(2026, 3, 10, 12, 0, tzinfo=dt.UTC)
    assert parse_retry_after("30") == 30.0
    assert parse_retry_after("Tue, 10 Mar 2026 12:01:30 GMT", now) == 90.0
    assert parse_retry_after("Tue, 10 Mar 2026 11:00:00 GMT", now) == 0.0  # already past
    assert parse_retry_after("soon") is None
    assert parse_retry_after(None) is None
    assert parse_retry_after("-5") is None
