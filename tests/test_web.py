"""The API process serves the built web app: its pages (every non-API path answers index.html,
the app's router takes over), hashed assets cached for good, and the page CSP; the API's own
paths never fall through to a page."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from httpx import ASGITransport, AsyncClient

from medbook.security import origin_of
from medbook.settings import get_settings

INDEX = "<!doctype html><title>Medical Inc.</title><div id=root></div>"


@pytest.fixture
async def web(tmp_path: Path, database_url: str) -> AsyncIterator[AsyncClient]:
    dist = tmp_path / "dist"
    (dist / "assets").mkdir(parents=True)
    (dist / "index.html").write_text(INDEX)
    (dist / "assets" / "index-abc123.js").write_text("console.log('app')")
    (dist / "favicon.svg").write_text("<svg/>")
    (tmp_path / "secret.txt").write_text("not for the web")
    os.environ["MEDBOOK_WEB_DIST_DIR"] = str(dist)
    get_settings.cache_clear()
    from medbook.app import create_app

    app = create_app()
    try:
        async with (
            app.router.lifespan_context(app),
            AsyncClient(transport=ASGITransport(app=app), base_url="https://testserver") as http,
        ):
            yield http
    finally:
        del os.environ["MEDBOOK_WEB_DIST_DIR"]
        get_settings.cache_clear()


@pytest.mark.parametrize("path", ["/", "/book/5a1b", "/me/appointments", "/staff"])
async def test_every_page_path_answers_the_app_with_the_page_policy(
    web: AsyncClient, path: str
) -> None:
    page = await web.get(path)
    assert page.status_code == 200
    assert page.text == INDEX
    assert page.headers["cache-control"] == "no-cache"
    policy = page.headers["content-security-policy"]
    gateway = origin_of(get_settings().payment_js_url)  # localstripe here, Stripe in production
    assert f"script-src 'self' {gateway};" in policy
    assert "frame-ancestors 'none'" in policy


async def test_assets_are_kept_for_good_and_files_beside_the_app_are_served(
    web: AsyncClient,
) -> None:
    script = await web.get("/assets/index-abc123.js")
    icon = await web.get("/favicon.svg")
    assert script.status_code == 200
    assert "immutable" in script.headers["cache-control"]
    assert icon.text == "<svg/>"


async def test_api_paths_never_fall_through_to_a_page(web: AsyncClient) -> None:
    missing = await web.get("/api/v1/no-such-thing")
    assert missing.status_code == 404
    assert missing.headers["content-type"] == "application/problem+json"
    assert missing.json()["code"] == "not_found"
    assert (await web.get("/api/v1/clinics")).headers["content-type"].startswith("application/json")


async def test_nothing_outside_the_build_is_reachable(web: AsyncClient) -> None:
    for path in ("/../secret.txt", "/%2e%2e/secret.txt", "/assets/../../secret.txt"):
        answer = await web.get(path)
        assert "not for the web" not in answer.text, path
