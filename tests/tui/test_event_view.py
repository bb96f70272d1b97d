"""An event payload as the detail pane shows it: main exception first, newest frame first, source around lines."""

from __future__ import annotations

from tui.event_view import breadcrumbs, exceptions, frame_context, frame_groups, request_text


def frame(name: str, in_app: bool, **fields: object) -> dict[str, object]:
    return {"filename": f"{name}.py", "function": name, "lineno": 10, "in_app": in_app, **fields}


def test_main_exception_first() -> None:
    payload = {"exception": {"values": [{"type": "KeyError"}, {"type": "RenderError"}]}}
    assert [e["type"] for e in exceptions(payload)] == ["RenderError", "KeyError"]
    assert exceptions(None) == [] and exceptions({"exception": None}) == []


def test_frames_newest_first_with_library_runs_folded() -> None:
    value = {
        "stacktrace": {
            "frames": [
                frame("main", True),
                frame("lib1", False),
                frame("lib2", False),
                frame("handler", True),
                frame("driver", False),
            ]
        }
    }
    groups = frame_groups(value)
    assert [(len(g.frames), g.in_app) for g in groups] == [(1, False), (1, True), (2, False), (1, True)]
    assert groups[1].title().plain.startswith("handler.py:10 in handler")
    assert "app" in groups[1].title().plain
    assert groups[2].title().plain == "… 2 library frames"
    assert groups[2].body().plain.splitlines()[0].startswith("lib2.py")


def test_context_lines_numbered_and_the_line_marked() -> None:
    text = frame_context(
        frame("f", True, lineno=21, pre_context=["a", "b"], context_line="boom()", post_context=["c"], vars={"x": 1})
    ).plain.splitlines()
    assert text[:4] == ["  19 │ a", "  20 │ b", "→ 21 │ boom()", "  22 │ c"]
    assert text[4:] == ["variables:", "  x = 1"]
    assert "no source context" in frame_context(frame("g", False)).plain


def test_breadcrumbs_and_request() -> None:
    crumbs = breadcrumbs(
        {
            "breadcrumbs": {
                "values": [
                    {"timestamp": 0, "category": "http", "data": {"method": "GET", "url": "/x", "status_code": 502}}
                ]
            }
        }
    ).plain
    assert crumbs == "00:00:00 http         GET /x 502"
    assert breadcrumbs({}).plain == "(none)"
    corrected = {
        "breadcrumbs": {"values": [{"timestamp": "2026-11-29T11:59:50Z", "message": "tap"}]},
        "errors": [{"type": "clock_drift", "sdk_time": "2026-11-29T09:00:00Z", "server_time": "2026-11-29T12:04:00Z"}],
    }
    assert breadcrumbs(corrected).plain.splitlines() == [
        "times corrected: the sender's clock was 3h 04m behind",
        "11:59:50 -            tap",
    ]
    corrected["errors"] = [
        {"type": "clock_drift", "sdk_time": "2026-11-30T12:00:00Z", "server_time": "2026-11-29T12:00:00Z"}
    ]
    assert breadcrumbs(corrected).plain.startswith("times corrected: the sender's clock was 24h 00m ahead\n")
    for odd in ({"sdk_time": "soon"}, {"sdk_time": "2026-11-29T09:00:00", "server_time": "2026-11-29T12:00:00Z"}):
        corrected["errors"] = [{"type": "clock_drift", **odd}]
        assert breadcrumbs(corrected).plain == "11:59:50 -            tap"
    request = request_text(
        {"request": {"method": "POST", "url": "https://shop/checkout", "headers": {"User-Agent": "curl"}}}
    )
    assert (
        "method" in request.plain and "https://shop/checkout" in request.plain and "header User-Agent" in request.plain
    )
