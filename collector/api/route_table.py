"""The REST API's paths and their methods, in routing order, without importing the API: the collector declares its
routes from this table (lazy.py). Written by `python -m collector.api.route_table`; a test checks it is current."""

from __future__ import annotations

ROUTES: dict[str, tuple[str, ...]] = {
    # -- generated: begin
    "/api/error-logging/audit/": ("GET",),
    "/api/error-logging/errors/": ("GET",),
    "/api/error-logging/errors/critical/": ("GET",),
    "/api/error-logging/errors/{error_id:int}/": ("GET", "PATCH"),
    "/api/error-logging/errors/{error_id:int}/events/": ("GET",),
    "/api/error-logging/events/{event_id}/": ("GET",),
    "/api/error-logging/errors/stats/": ("GET",),
    "/api/error-logging/errors/counts/": ("GET",),
    "/api/error-logging/errors/{error_id:int}/resolve/": ("POST",),
    "/api/error-logging/errors/{error_id:int}/assign/": ("POST",),
    "/api/error-logging/errors/{error_id:int}/acknowledge/": ("POST",),
    "/api/error-logging/errors/{error_id:int}/escalate/": ("POST",),
    "/api/error-logging/errors/{error_id:int}/ignore/": ("POST",),
    "/api/error-logging/errors/{error_id:int}/reopen/": ("POST",),
    "/api/error-logging/errors/{error_id:int}/comment/": ("POST",),
    "/api/error-logging/errors/bulk/": ("POST",),
    "/api/error-logging/developers/": ("GET", "POST"),
    "/api/error-logging/developers/{developer_id:int}/": ("GET", "PATCH"),
    "/api/error-logging/developers/workload/": ("GET",),
    "/api/error-logging/oncall/": ("GET",),
    "/api/error-logging/oncall/schedules/": ("GET", "POST"),
    "/api/error-logging/oncall/schedules/{schedule_id:int}/": ("PATCH", "DELETE"),
    "/api/error-logging/oncall/schedules/{schedule_id:int}/overrides/": ("POST",),
    "/api/error-logging/oncall/overrides/{override_id:int}/": ("DELETE",),
    "/api/error-logging/projects/{project_id:int}/escalation-chain/": ("GET", "PUT"),
    "/api/error-logging/projects/": ("GET", "POST"),
    "/api/error-logging/projects/{project_id:int}/": ("GET", "PATCH"),
    "/api/error-logging/projects/{project_id:int}/keys/": ("GET", "POST"),
    "/api/error-logging/projects/{project_id:int}/keys/{key_id:int}/": ("PATCH", "DELETE"),
    "/api/error-logging/tokens/": ("GET", "POST"),
    "/api/error-logging/tokens/{token_id:int}/": ("DELETE",),
    "/api/error-logging/patterns/": ("GET",),
    "/api/error-logging/notifications/": ("GET",),
    "/api/error-logging/notifications/{notification_id:int}/retry/": ("POST",),
    "/api/error-logging/maintenance-windows/": ("GET", "POST"),
    "/api/error-logging/maintenance-windows/{window_id:int}/": ("GET", "PATCH", "DELETE"),
    "/api/error-logging/maintenance-windows/{window_id:int}/end/": ("POST",),
    "/api/error-logging/heartbeats/": ("GET", "POST"),
    "/api/error-logging/heartbeats/{heartbeat_id:int}/": ("PATCH", "DELETE"),
    "/api/error-logging/openapi.json": ("GET",),
    # -- generated: end
}

_BEGIN, _END = "    # -- generated: begin\n", "    # -- generated: end\n"


def api_routes() -> dict[str, tuple[str, ...]]:
    """The paths and methods of the API as `build_api` assembles it now (importing all of it)."""
    from collector.api import build_api

    methods: dict[str, tuple[str, ...]] = {}
    for endpoint in build_api().endpoints:
        methods[endpoint.full_path] = (*methods.get(endpoint.full_path, ()), endpoint.method)
    return methods


def render() -> str:
    """This module's text with the table of `api_routes()`."""
    from pathlib import Path

    rows = []
    for path, methods in api_routes().items():
        quoted = ", ".join(f'"{method}"' for method in methods)
        rows.append(f'    "{path}": ({quoted}{"," if len(methods) == 1 else ""}),\n')
    head, rest = Path(__file__).read_text().split(_BEGIN)
    _, tail = rest.split(_END)
    return f"{head}{_BEGIN}{''.join(rows)}{_END}{tail}"


if __name__ == "__main__":
    from pathlib import Path

    Path(__file__).write_text(render())
