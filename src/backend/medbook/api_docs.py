"""The interactive API documentation (Swagger UI) at /docs, served from our own origin.

The page shares its origin with the session cookie, so every script it runs must be ours: the
Swagger UI files come from the swagger-ui-py package (pinned in uv.lock), and the page is
started by a small script of ours rather than an inline one, so the page's policy can forbid
inline scripts and every other origin.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from importlib.resources import files
from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import FileResponse, HTMLResponse, Response

SWAGGER_UI = Path(str(files("swagger_ui") / "static"))
ASSETS = {
    "swagger-ui-bundle.js": "text/javascript",
    "swagger-ui.css": "text/css",
    "favicon-32x32.png": "image/png",
}
PAGE = """<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>{title}</title>
  <link rel="stylesheet" href="/docs/swagger-ui.css">
  <link rel="icon" type="image/png" href="/docs/favicon-32x32.png">
</head>
<body>
  <div id="swagger-ui"></div>
  <script src="/docs/swagger-ui-bundle.js"></script>
  <script src="/docs/start.js"></script>
</body>
</html>
"""
START = """window.ui = SwaggerUIBundle({
  url: "/openapi.json",
  dom_id: "#swagger-ui",
  deepLinking: true,
  presets: [SwaggerUIBundle.presets.apis],
  layout: "BaseLayout",
});
"""
# The files change only with the package, whose version is in the lock file.
CACHE = "public, max-age=86400"


def install_api_docs(app: FastAPI) -> None:
    page = PAGE.format(title=app.title)

    async def docs() -> HTMLResponse:
        return HTMLResponse(page, headers={"Cache-Control": "no-cache"})

    async def start() -> Response:
        return Response(START, media_type="text/javascript", headers={"Cache-Control": CACHE})

    app.add_api_route("/docs", docs, methods=["GET"], include_in_schema=False)
    app.add_api_route("/docs/start.js", start, methods=["GET"], include_in_schema=False)
    for name, media_type in ASSETS.items():
        app.add_api_route(
            f"/docs/{name}",
            _asset(SWAGGER_UI / name, media_type),
            methods=["GET"],
            include_in_schema=False,
        )


def _asset(path: Path, media_type: str) -> Callable[[], Awaitable[FileResponse]]:
    async def asset() -> FileResponse:
        return FileResponse(path, media_type=media_type, headers={"Cache-Control": CACHE})

    return asset
