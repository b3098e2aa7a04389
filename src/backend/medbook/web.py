"""The web app (src/frontend, built by Vite into dist/) served by the API process itself: one
origin for pages, API and WebSocket, so cookies, CSRF and the Content-Security-Policy stay simple.
Every path that is not the API's answers the app's index.html, and the app's router takes over.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import FileResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException

from medbook.errors import allowed_methods
from medbook.kernel.errors import NotFoundError
from medbook.security import API_PATHS, DOCS_PATHS

# Hashed file names: a new build is a new name, so browsers may keep these for a year.
IMMUTABLE = "public, max-age=31536000, immutable"


def install_web_app(app: FastAPI, dist: Path) -> None:
    index = dist / "index.html"
    if not index.is_file():
        # Not built (a bare API checkout): the front door is the interactive API documentation.
        app.add_api_route("/", lambda: RedirectResponse("/docs"), include_in_schema=False)
        return
    app.mount("/assets", _ImmutableFiles(directory=dist / "assets"), name="assets")
    # The build's top-level files (favicon.svg and the like), by name: nothing else is served,
    # so no path can reach outside the build.
    beside = {file.name: file for file in dist.iterdir() if file.is_file()}

    async def page(path: str) -> Response:
        if f"/{path}".startswith((*API_PATHS, *DOCS_PATHS)):
            if allowed_methods(app, f"/{path}"):  # asked with a method it does not answer
                raise HTTPException(405)
            raise NotFoundError(f"There is no /{path}.")
        if path in beside:
            return FileResponse(beside[path])
        return FileResponse(index, headers={"Cache-Control": "no-cache"})

    app.add_api_route("/{path:path}", page, methods=["GET", "HEAD"], include_in_schema=False)


class _ImmutableFiles(StaticFiles):
    def file_response(self, *args, **kwargs) -> Response:  # type: ignore[no-untyped-def]
        response = super().file_response(*args, **kwargs)
        response.headers["Cache-Control"] = IMMUTABLE
        return response
