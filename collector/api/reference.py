"""docs/api.md, rendered from the served OpenAPI document: `python -m collector.api.reference > docs/api.md`."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

from collector.api.framework import API_PREFIX
from collector.api.reference_intro import introduction

REF_PREFIX = "#/components/schemas/"
METHODS = ("get", "put", "post", "patch", "delete")


def anchor(name: str) -> str:
    return "schema-" + re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")


def display(name: str) -> str:
    """A schema's name as written in Python: pydantic names `Page[AuditOut]` `Page_AuditOut_` in the document."""
    return re.sub(r"^(\w+?)_(\w+)_$", r"\1[\2]", name)


def _cell(text: str) -> str:
    """Text that stays inside one Markdown table cell."""
    return " ".join(text.split()).replace("|", "\\|")


def _paragraphs(text: str) -> str:
    """A docstring-like text as Markdown paragraphs: lines rejoined, blank lines kept."""
    return "\n\n".join(" ".join(block.split()) for block in re.split(r"\n\s*\n", text.strip()))


def _literal(value: Any) -> str:
    return f"`{json.dumps(value, ensure_ascii=False)}`" if not isinstance(value, str) else f"`{value}`"


def _bounds(schema: dict[str, Any], low: str, high: str, unit: str = "") -> str | None:
    lo, hi = schema.get(low), schema.get(high)
    if lo is None and hi is None:
        return None
    if lo is not None and hi is not None:
        return f"{lo} to {hi}{unit}"
    return f"at least {lo}{unit}" if lo is not None else f"at most {hi}{unit}"


def _constraints(schema: dict[str, Any]) -> list[str]:
    found = [
        _bounds(schema, "minimum", "maximum"),
        _bounds(schema, "exclusiveMinimum", "exclusiveMaximum"),
        _bounds(schema, "minLength", "maxLength", " chars"),
        _bounds(schema, "minItems", "maxItems", " items"),
    ]
    if "pattern" in schema:
        found.append(f"matching `{schema['pattern']}`")
    return [text for text in found if text]


def type_text(schema: dict[str, Any]) -> str:
    """A JSON schema in a few words, with links to the named schemas it uses."""
    if "$ref" in schema:
        name = schema["$ref"].removeprefix(REF_PREFIX)
        return f"[{display(name)}](#{anchor(name)})"
    for key in ("anyOf", "oneOf"):
        if key in schema:
            return " or ".join(type_text(option) for option in schema[key])
    if "const" in schema:
        return _literal(schema["const"])
    if "enum" in schema:
        return "one of " + ", ".join(_literal(value) for value in schema["enum"])
    kind = schema.get("type")
    if isinstance(kind, list):
        return " or ".join(type_text({**schema, "type": one}) for one in kind)
    notes = ", ".join([*([schema["format"]] if "format" in schema else []), *_constraints(schema)])
    if kind == "array":
        return f"list{f' ({notes})' if notes else ''} of {type_text(schema.get('items', {}))}"
    if kind == "object" and isinstance(schema.get("additionalProperties"), dict):
        return f"object of {type_text(schema['additionalProperties'])}"
    return str(kind or "any") + (f" ({notes})" if notes else "")


def _description(schema: dict[str, Any]) -> str:
    text = schema.get("description", "")
    if schema.get("default") is not None:
        text = f"{text} Default: {_literal(schema['default'])}.".strip()
    return _cell(text)


def _fields(schema: dict[str, Any], heading: str) -> list[str]:
    required = set(schema.get("required", []))
    rows = [f"| {heading} | Type | Required | Description |", "| --- | --- | --- | --- |"]
    for name, prop in schema.get("properties", {}).items():
        rows.append(
            f"| `{name}` | {_cell(type_text(prop))} | {'yes' if name in required else 'no'} | {_description(prop)} |"
        )
    return rows


def _parameters(operation: dict[str, Any], where: str) -> list[str]:
    parameters = [p for p in operation.get("parameters", []) if p["in"] == where]
    if not parameters:
        return []
    header = ["| Name | Type | Required | Description |", "| --- | --- | --- | --- |"]
    rows = [f"{where.capitalize()} parameters:", "", *header]
    for p in parameters:
        schema = {**p["schema"], "description": p.get("description", "")}
        rows.append(f"| `{p['name']}` | {_cell(type_text(schema))} | {'yes' if p['required'] else 'no'} | "
                    f"{_description(schema)} |")  # fmt: skip
    return [*rows, ""]


def _body(operation: dict[str, Any], schemas: dict[str, Any]) -> list[str]:
    body = operation.get("requestBody")
    if body is None:
        return []
    schema = body["content"]["application/json"]["schema"]
    lines = [f"Body (`application/json`): {type_text(schema)}", ""]
    if "$ref" in schema:
        model = schemas[schema["$ref"].removeprefix(REF_PREFIX)]
        if model.get("description"):
            lines += [_paragraphs(model["description"]), ""]
        lines += [*_fields(model, "Field"), ""]
    return lines


def _responses(operation: dict[str, Any]) -> list[str]:
    rows = ["| Status | Body | Meaning |", "| --- | --- | --- |"]
    for status, response in operation["responses"].items():
        content = response.get("content", {}).get("application/json")
        body = type_text(content["schema"]) if content else "none"
        rows.append(f"| `{status}` | {_cell(body)} | {_cell(response['description'])} |")
    return rows


def _operations(document: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, item in document["paths"].items():
        for method in METHODS:
            if method in item:
                yield method.upper(), path, item[method]


def _operation(method: str, path: str, operation: dict[str, Any], schemas: dict[str, Any]) -> list[str]:
    role = operation.get("x-errlog-role", "")
    lines = [
        f'### <a id="{operation["operationId"]}"></a>`{method} {path}`',
        "",
        f"{operation['summary']}. Role: **{role}**. Operation id: `{operation['operationId']}`.",
        "",
    ]
    if operation.get("description"):
        lines += [_paragraphs(operation["description"]), ""]
    lines += _parameters(operation, "path") + _parameters(operation, "query") + _body(operation, schemas)
    return [*lines, *_responses(operation), ""]


def _referenced(document: dict[str, Any]) -> list[str]:
    """Names of the schemas the operations use (directly or through other schemas), in document order."""
    schemas = document["components"]["schemas"]
    seen: set[str] = set()
    pending = re.findall(r'"#/components/schemas/([^"]+)"', json.dumps(document["paths"]))
    while pending:
        name = pending.pop()
        if name not in seen:
            seen.add(name)
            pending += re.findall(r'"#/components/schemas/([^"]+)"', json.dumps(schemas[name]))
    return [name for name in schemas if name in seen]


def _schema(name: str, schema: dict[str, Any]) -> list[str]:
    lines = [f'### <a id="{anchor(name)}"></a>{display(name)}', ""]
    if schema.get("description"):
        lines += [_paragraphs(schema["description"]), ""]
    if "properties" in schema:
        lines += _fields(schema, "Field")
    else:
        lines.append(f"{type_text({k: v for k, v in schema.items() if k != 'description'})}.")
    return [*lines, ""]


def render(document: dict[str, Any]) -> str:
    """The whole reference page for an OpenAPI document as the API serves it."""
    schemas = document["components"]["schemas"]
    by_tag: dict[str, list[tuple[str, str, dict[str, Any]]]] = {}
    for method, path, operation in _operations(document):
        by_tag.setdefault(operation["tags"][0], []).append((method, path, operation))
    lines = [f"# {document['info']['title']} reference", "", introduction(), "## Endpoints", ""]
    for tag, operations in by_tag.items():
        lines.append(f"- {tag.capitalize()}")
        for method, path, op in operations:
            short = path.removeprefix(API_PREFIX + "/")
            lines.append(f"  - [`{method} {short}`](#{op['operationId']}): {op['summary']}")
    lines.append("")
    for tag, operations in by_tag.items():
        lines += [f"## {tag.capitalize()}", ""]
        for method, path, operation in operations:
            lines += _operation(method, path, operation, schemas)
    lines += ["## Schemas", ""]
    for name in _referenced(document):
        lines += _schema(name, schemas[name])
    return "\n".join(lines).rstrip("\n") + "\n"


def main() -> None:
    from collector.api import build_api
    from collector.api.openapi import openapi_document

    print(render(openapi_document(build_api())), end="")


if __name__ == "__main__":
    main()
