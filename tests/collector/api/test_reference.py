"""docs/api.md is what collector.api.reference renders from the served OpenAPI document, so it cannot drift."""

from __future__ import annotations

from pathlib import Path

import pytest

from collector.api.reference import render, type_text

DOC = Path(__file__).resolve().parents[3] / "docs" / "api.md"
REGENERATE = "docs/api.md is out of date: run `python -m collector.api.reference > docs/api.md`"


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_committed_reference_is_rendered_from_the_served_schema(viewer):
    response = viewer.get("/openapi.json")
    assert response.status_code == 200
    document = response.json()
    page = render(document)
    assert DOC.read_text(encoding="utf-8") == page, REGENERATE
    for path, item in document["paths"].items():
        for operation in item.values():
            assert f'<a id="{operation["operationId"]}"></a>' in page, path


@pytest.mark.parametrize(
    ("schema", "text"),
    [
        ({"type": "integer", "minimum": 1, "maximum": 500}, "integer (1 to 500)"),
        ({"anyOf": [{"type": "string", "format": "date-time"}, {"type": "null"}]}, "string (date-time) or null"),
        ({"type": "array", "maxItems": 20, "items": {"$ref": "#/components/schemas/Page_AuditOut_"}},
         "list (at most 20 items) of [Page[AuditOut]](#schema-page-auditout)"),
        ({"enum": ["asc", "desc"]}, "one of `asc`, `desc`"),
        ({"type": "object", "additionalProperties": {"type": "integer"}}, "object of integer"),
    ],
)  # fmt: skip
def test_types_read_as_words_with_links(schema, text):
    assert type_text(schema) == text
