"""The OpenAPI document, rendered the same way for /docs and for docs/api/openapi.json."""

from __future__ import annotations

import json

from medbook.app import create_app


def openapi_json() -> str:
    return json.dumps(create_app().openapi(), indent=2, sort_keys=True) + "\n"
