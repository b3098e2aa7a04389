"""The API document says what the server does, beyond what each route declares itself.

Every operation can be refused at the input boundary (413, 415, 422) or find the database away
(503 with Retry-After), whatever its route says; and every string a request carries obeys the
boundary's character rule, which the document states as a pattern where a field has no stricter
one. This is applied once, to the document FastAPI builds from the routes.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

from medbook.schemas import MULTI_LINE_PATTERN

PROBLEM = {"$ref": "#/components/schemas/Problem"}
RETRY_AFTER = {
    "Retry-After": {
        "description": "Seconds to wait before trying again.",
        "schema": {"type": "integer", "minimum": 0},
    }
}
EVERY_OPERATION: dict[str, dict[str, Any]] = {
    "400": {"description": "Bad Request"},
    "413": {"description": "Payload Too Large: bodies are limited to 1 MiB (body_too_large)."},
    "415": {"description": "Unsupported Media Type: bodies are JSON (unsupported_media_type)."},
    "422": {
        "description": "Unprocessable Content: a field breaks its rule (validation_failed), a "
        "text carries control characters (control_characters), JSON nests too deep "
        "(json_too_deep) or card data was sent (card_data_refused)."
    },
    "503": {
        "description": "Service Unavailable: the database (or a peer) cannot be reached right "
        "now; try again after Retry-After seconds.",
        "headers": RETRY_AFTER,
    },
}
_NO_PATTERN_NEEDED = ("pattern", "format", "enum", "const")


def install_api_contract(app: FastAPI) -> None:
    build = app.openapi

    def openapi() -> dict[str, Any]:
        document = build()  # FastAPI keeps it, so this runs on the first call only
        if not document.get("x-medbook-contract"):
            shape(document)
            document["x-medbook-contract"] = True
        return document

    app.openapi = openapi  # type: ignore[method-assign]


def shape(document: dict[str, Any]) -> None:
    schemas: dict[str, Any] = document.get("components", {}).get("schemas", {})
    requested: set[str] = set()
    for item in document.get("paths", {}).values():
        for operation in item.values():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            responses = operation["responses"]
            for status, response in EVERY_OPERATION.items():
                responses.setdefault(status, {})
                responses[status].setdefault("description", response["description"])
                responses[status].setdefault(
                    "content", {"application/problem+json": {"schema": PROBLEM}}
                )
                if "headers" in response:
                    responses[status].setdefault("headers", response["headers"])
            if "429" in responses:
                responses["429"].setdefault("headers", RETRY_AFTER)
            for parameter in operation.get("parameters", ()):
                if parameter.get("in") in ("query", "path"):
                    _with_character_rule(parameter.get("schema", {}))
            for content in operation.get("requestBody", {}).get("content", {}).values():
                _collect_refs(content.get("schema", {}), schemas, requested)
                _with_character_rule(content.get("schema", {}))
    for name in requested:
        _with_character_rule(schemas[name])


def _collect_refs(schema: Any, schemas: dict[str, Any], found: set[str]) -> None:
    if isinstance(schema, dict):
        ref = schema.get("$ref")
        if isinstance(ref, str):
            name = ref.rsplit("/", 1)[1]
            if name not in found:
                found.add(name)
                _collect_refs(schemas.get(name), schemas, found)
        for value in schema.values():
            _collect_refs(value, schemas, found)
    elif isinstance(schema, list):
        for value in schema:
            _collect_refs(value, schemas, found)


def _with_character_rule(schema: Any) -> None:
    """Give every plain string in a request schema the boundary's pattern."""
    if isinstance(schema, list):
        for value in schema:
            _with_character_rule(value)
        return
    if not isinstance(schema, dict) or "$ref" in schema:
        return
    if schema.get("type") == "string" and not any(key in schema for key in _NO_PATTERN_NEEDED):
        schema["pattern"] = MULTI_LINE_PATTERN
    for key in ("properties", "patternProperties", "$defs"):
        for value in schema.get(key, {}).values():
            _with_character_rule(value)
    for key in ("items", "additionalProperties", "anyOf", "oneOf", "allOf", "prefixItems"):
        if key in schema:
            _with_character_rule(schema[key])
