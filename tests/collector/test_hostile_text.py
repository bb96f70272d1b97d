"""Text made to make the ingest path's regular expressions and loops scan it again and again: each step gives its
usual answer, in time linear in the text. Before, each of these inputs took minutes to hours of one worker's CPU,
with its event loop blocked (or ran out of stack), so a single event could stall a collector; here the inputs are
as long as an event may be (1 MiB), so a regression fails the test by its timeout rather than by a timing."""

from __future__ import annotations

import tracemalloc

import pytest

from collector.grouping.v1_normalise import function_name, normalise_message
from collector.scrub import FILTERED, MAX_PAIR_DEPTH, scrub_event
from collector.stacktraces import parse_java, parse_javascript
from tests.collector.envelopes import auth_header, key_of, make_envelope, make_event

MIB = 1 << 20


def scrubbed(text: str) -> str:
    value: str = scrub_event({"extra": {"note": text}})["extra"]["note"]
    return value


def test_a_long_run_of_small_numbers_is_kept_and_cards_beside_numbers_are_still_found():
    numbers = "0 " * (MIB // 2)  # a numpy array's repr
    assert scrubbed(numbers) == numbers
    assert scrubbed("4111 1111 1111 1111 2024") == f"{FILTERED} 2024"
    assert scrubbed("ids 12 345 678 901 234 and 3782 822463 10005") == f"ids 12 345 678 901 234 and {FILTERED}"


def test_a_long_run_of_jwt_starts_is_kept_and_jwts_after_a_dash_are_still_found():
    starts = "-eyJ" * (MIB // 4)
    assert scrubbed(starts) == starts
    token = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0In0.c2lnbmF0dXJl"
    assert scrubbed(f"session-{token} x") == f"session-{FILTERED} x"


def test_pairs_nested_past_the_depth_limit_lose_their_value_instead_of_the_stack():
    chained = "key=" * (MIB // 4)
    kept = "key=" * (MAX_PAIR_DEPTH + 1)
    assert scrubbed(chained) == kept + FILTERED
    assert scrubbed("url=/login?next=/cart?token=abc&x=1") == f"url=/login?next=/cart?token={FILTERED}&x=1"


@pytest.mark.parametrize(
    "text",
    ["a" * MIB + "@", "a." * (MIB // 2), "x@" * (MIB // 2)],
    ids=["one run then @", "dotted run", "many @"],
)
def test_messages_without_parameters_stay_as_they_are(text):
    assert normalise_message(text) == text


def test_addresses_glued_together_are_each_replaced():
    assert normalise_message("sent to a@b.io/c@d.io_e@f.io, g@h.io") == "sent to <email><email><email>, <email>"


def test_csharp_state_machine_names_are_their_method_whatever_precedes_them():
    assert function_name("Shop.Cart.<Checkout>d__5.MoveNext") == "Checkout"
    assert function_name("<Main>d__0.MoveNext") == "Main"
    assert function_name("a.<" * (MIB // 3) + "b>d__1.MoveNext") == "b"
    not_one = "a.<" * (MIB // 3) + "a"  # every ".<" a start, and no ">d__N.MoveNext" to end at
    assert function_name(not_one) == not_one


def test_v8_aliases_are_dropped_after_any_run_of_spaces():
    assert function_name("Object.charge [as pay]") == "Object.charge"
    # The addresses ("0x1") removed leave a run of spaces, and every one of them started a try for " [as ...]".
    assert function_name("1 0x" * (MIB // 4)) == "1 0x"
    assert function_name("f" + " " * MIB + "[as g]") == "f"


@pytest.mark.parametrize(
    ("parse", "top", "link"),
    [
        (parse_javascript, "Error: top\n at a (b.js:1:1)\n", "[cause]: Error: x\n at a (b.js:1:1)\n at a (b.js:1:1)\n"
         " ... 9999 lines matching cause stack trace ...\n"),
        (parse_java, "a.B: top\n\tat a.B.c(B.java:1)\n", "Caused by: a.B: x\n\tat a.B.c(B.java:1)\n\t... 99999 more\n"),
    ],
    ids=["node", "java"],
)  # fmt: skip
def test_a_long_chain_of_causes_copies_elided_frames_into_the_kept_ones_only(parse, top, link):
    # Each cause says its frames go on as the exception next to it does: copied one after the other, each copy one
    # frame longer, 130-400 MB held for 512 KiB of text before the chain was cut to what is kept first.
    text = top + link * (MIB // 2 // len(link))
    tracemalloc.start()
    try:
        values = parse(text)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert [v["value"] for v in values] == ["x"] * 19 + ["top"]
    assert peak < 32 * MIB


def test_an_event_of_hostile_strings_is_stored_and_the_collector_keeps_answering(collector):
    project_id, dsn, _ = collector.create_project()
    frames = [{"function": "a.<" * 100_000 + ">d__1.MoveNext", "module": "shop", "in_app": True}]
    event = make_event(
        "a" * 8000 + "@",
        extra={"numbers": "0 " * 150_000, "starts": "-eyJ" * 50_000, "pairs": "key=" * 50_000},
        exception={"values": [{"type": "ValueError", "value": "x", "stacktrace": {"frames": frames}}]},
    )
    with collector.client() as client:
        answer = client.post(
            f"/api/{project_id}/envelope/",
            content=make_envelope(event),
            headers={"Content-Type": "application/x-sentry-envelope", **auth_header(key_of(dsn))},
        )
        assert answer.status_code == 200, answer.text
        assert client.get("/api/error-logging/webhook/health/").status_code == 200
