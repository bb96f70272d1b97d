"""The ingest endpoints' raw answers and the Starlette endpoints' responses carry the same error, byte for byte."""

from __future__ import annotations

import pytest

from collector.responses import error_answer, error_response


@pytest.mark.parametrize(
    ("status", "reason", "headers"),
    [
        (403, "no project with id 7 has this key", None),
        (429, "rate limited: 61 events in the last minute (limit 60)", {"Retry-After": "30"}),
        (400, "invalid JSON in the event ü\non line 2", {"X-Sentry-Rate-Limits": "60:error:key"}),
    ],
)
def test_error_answer_sends_what_error_response_sends(status, reason, headers):
    response = error_response(status, reason, headers)
    answer = error_answer(status, reason, headers)
    assert answer.status == response.status_code
    assert answer.body == response.body
    assert answer.headers == response.raw_headers
