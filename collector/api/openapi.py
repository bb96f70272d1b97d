"""The OpenAPI 3.1 document, generated from the registered endpoints and their pydantic models."""

from __future__ import annotations

import re
from typing import Any, get_args, get_origin

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from collector.api import openapi_static
from collector.api.framework import Api, Endpoint, ErrorBody, ValidationErrorBody

REF = "#/components/schemas/{model}"


def _model_of(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    if get_origin(annotation) is list:
        return _model_of(get_args(annotation)[0])
    return None


def _response_schema(annotation: Any, refs: dict[tuple[type[BaseModel], str], dict[str, Any]]) -> dict[str, Any]:
    if get_origin(annotation) is list:
        return {"type": "array", "items": _response_schema(get_args(annotation)[0], refs)}
    model = _model_of(annotation)
    if model is not None:
        return refs[(model, "serialization")]
    return {"type": "object"}


def openapi_document(api: Api, *, server_url: str | None = None) -> dict[str, Any]:
    wanted: set[tuple[type[BaseModel], str]] = {(ErrorBody, "serialization"), (ValidationErrorBody, "serialization")}
    for endpoint in api.endpoints:
        if endpoint.body is not None:
            wanted.add((endpoint.body, "validation"))
        if endpoint.query is not None:
            wanted.add((endpoint.query, "validation"))
        response_model = _model_of(endpoint.response)
        if response_model is not None:
            wanted.add((response_model, "serialization"))
    ordered = sorted(wanted, key=lambda pair: (pair[0].__name__, pair[1]))
    refs, definitions = models_json_schema(ordered, ref_template=REF)  # type: ignore[arg-type]
    schemas = dict(definitions.get("$defs", {})) | openapi_static.SCHEMAS

    paths: dict[str, dict[str, Any]] = {}
    for endpoint in api.endpoints:
        paths.setdefault(endpoint.openapi_path, {})[endpoint.method.lower()] = _operation(endpoint, refs, schemas)
    paths |= openapi_static.static_paths()
    document: dict[str, Any] = {
        "openapi": "3.1.0",
        "info": {
            "title": api.title,
            "version": api.version,
            "description": "Bearer tokens from `errlog token create`; roles viewer < responder < admin.",
        },
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {
                "bearerAuth": {"type": "http", "scheme": "bearer", "description": "From `errlog token create`."},
                **openapi_static.SECURITY_SCHEMES,
            },
        },
        "security": [{"bearerAuth": []}],
    }
    if server_url:
        document["servers"] = [{"url": server_url}]
    return document


def _query_parameters(model: type[BaseModel], schemas: dict[str, Any]) -> list[dict[str, Any]]:
    schema = model.model_json_schema(ref_template=REF, mode="validation")
    schemas.update(schema.pop("$defs", {}))
    required = set(schema.get("required", []))
    parameters = []
    for name, prop in schema.get("properties", {}).items():
        prop = _without_null(prop)
        is_array = prop.get("type") == "array" or any(s.get("type") == "array" for s in prop.get("anyOf", []))
        parameter: dict[str, Any] = {
            "name": name,
            "in": "query",
            "required": name in required,
            "schema": {k: v for k, v in prop.items() if k != "title"},
        }
        if prop.get("description"):
            parameter["description"] = prop["description"]
        if is_array:
            parameter["style"] = "form"
            parameter["explode"] = True
        parameters.append(parameter)
    return parameters


def _without_null(prop: dict[str, Any]) -> dict[str, Any]:
    """A query parameter is absent or has a value; it is never JSON null."""
    options = [option for option in prop.get("anyOf", []) if option.get("type") != "null"]
    if len(options) == 1:
        prop = {**{k: v for k, v in prop.items() if k != "anyOf"}, **options[0]}
    if prop.get("default", "") is None:
        prop = {k: v for k, v in prop.items() if k != "default"}
    return prop


def _path_parameters(endpoint: Endpoint) -> list[dict[str, Any]]:
    parameters = []
    for name, kind in re.findall(r"\{(\w+)(?::(\w+))?\}", endpoint.full_path):
        schema = {"type": "integer", "minimum": 0} if kind == "int" else {"type": "string"}
        schema = endpoint.path_schemas.get(name, schema)
        parameters.append({"name": name, "in": "path", "required": True, "schema": schema})
    return parameters


def _operation(endpoint: Endpoint, refs: Any, schemas: dict[str, Any]) -> dict[str, Any]:
    error = {"application/json": {"schema": {"$ref": REF.format(model="ErrorBody")}}}
    invalid = {"application/json": {"schema": {"$ref": REF.format(model="ValidationErrorBody")}}}
    responses: dict[str, Any] = {}
    if endpoint.response is None:
        responses[str(204 if endpoint.status == 200 else endpoint.status)] = {"description": "Done."}
    else:
        responses[str(endpoint.status)] = {
            "description": "Success.",
            "content": {"application/json": {"schema": _response_schema(endpoint.response, refs)}},
        }
    responses["401"] = {"description": "No token, or an unknown or revoked one.", "content": error}
    responses["403"] = {"description": f"The token's role is below {endpoint.role}.", "content": error}
    responses["400"] = {"description": "Malformed request.", "content": error}
    if "{" in endpoint.path:
        responses["404"] = {"description": "No such object.", "content": error}
    if endpoint.method != "GET":
        responses["409"] = {"description": "Conflicts with the object's current state.", "content": error}
    if endpoint.query is not None or endpoint.body is not None:
        responses["422"] = {"description": "Invalid input; each problem names its field.", "content": invalid}
    if endpoint.body is not None:
        responses["413"] = {"description": "Request body too large.", "content": error}
    responses["503"] = {
        "description": "The database is unavailable; try again after the seconds the Retry-After header gives.",
        "content": error,
    }
    for status, description in endpoint.errors.items():
        responses[str(status)] = {"description": description, "content": invalid if status == 422 else error}
    operation: dict[str, Any] = {
        "operationId": endpoint.operation_id,
        "summary": endpoint.summary,
        "tags": [endpoint.tag],
        "parameters": _path_parameters(endpoint)
        + (_query_parameters(endpoint.query, schemas) if endpoint.query is not None else []),
        "responses": dict(sorted(responses.items())),
        "x-errlog-role": str(endpoint.role),
    }
    if endpoint.description:
        operation["description"] = endpoint.description
    if endpoint.body is not None:
        operation["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": refs[(endpoint.body, "validation")]}},
        }
    return operation
