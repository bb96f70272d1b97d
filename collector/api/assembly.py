"""The REST API assembled from its resource modules, one per resource: importing this loads them all."""

from __future__ import annotations

from functools import cache
from typing import Any

from collector.api import (
    audit,
    developers,
    error_detail,
    errors_read,
    errors_write,
    escalation_chains,
    events_read,
    heartbeats,
    maintenance,
    notifications,
    oncall,
    overrides,
    patterns,
    project_keys,
    projects,
    schedules,
    stats,
    tokens,
    workload,
)
from collector.api.framework import Api, ApiContext, ApiRequest
from collector.api.openapi import openapi_document
from db.enums import Role

RESOURCE_MODULES = (
    audit,
    errors_read,
    error_detail,
    events_read,
    stats,
    errors_write,
    developers,
    workload,
    oncall,
    schedules,
    overrides,
    escalation_chains,
    projects,
    project_keys,
    tokens,
    patterns,
    notifications,
    maintenance,
    heartbeats,
)


def build_api() -> Api:
    api = Api()
    for module in RESOURCE_MODULES:
        api.include(module.api)

    @cache
    def document() -> dict[str, Any]:
        return openapi_document(api)

    @api.route(
        "GET", "/openapi.json", role=Role.VIEWER, summary="This API's OpenAPI 3.1 schema", tag="meta", response=dict
    )
    def openapi_schema(ctx: ApiContext, req: ApiRequest) -> dict[str, Any]:
        """The schema of every endpoint, request and response of this API."""
        return document()

    return api
