"""docs/api.md is the API's own OpenAPI document rendered (``make docs``): never out of date."""

from __future__ import annotations

from infra.apidocs import TARGET, openapi_document, render


def test_docs_api_md_is_what_the_code_documents() -> None:
    assert TARGET.read_text(encoding="utf-8") == render(openapi_document()), "run `make docs`"


def test_every_route_of_the_document_has_a_section() -> None:
    document = openapi_document()
    text = TARGET.read_text(encoding="utf-8")
    for path, operations in document["paths"].items():
        for method in operations:
            assert f"### `{method.upper()} {path}`" in text
