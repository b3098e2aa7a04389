"""localstripe for the payment tests, and the app pointed at it."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from medbook.settings import get_settings
from tests.live import LiveServer, start_live_server, stop_live_server
from tests.payments.helpers import Localstripe, start_localstripe


@pytest.fixture(scope="session")
def localstripe(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Localstripe]:
    gateway = start_localstripe(tmp_path_factory.mktemp("localstripe") / "localstripe.log")
    saved = {
        name: os.environ.get(name)
        for name in ("MEDBOOK_PAYMENT_API_BASE", "MEDBOOK_PAYMENT_JS_URL")
    }
    os.environ["MEDBOOK_PAYMENT_API_BASE"] = gateway.url
    os.environ["MEDBOOK_PAYMENT_JS_URL"] = f"{gateway.url}/js.stripe.com/v3/"
    get_settings.cache_clear()
    yield gateway
    for name, value in saved.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value
    get_settings.cache_clear()
    gateway.stop()


@pytest.fixture(autouse=True)
def _gateway_for_every_test(localstripe: Localstripe) -> Localstripe:
    """Every payment test's app talks to localstripe."""
    return localstripe


@pytest.fixture(scope="session")
def payment_server(
    database_url: str, localstripe: Localstripe, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveServer]:
    """A real server process on localstripe, logging everything (debug): its log is scanned
    for card data."""
    live = start_live_server(
        database_url,
        tmp_path_factory.mktemp("payments") / "server.log",
        MEDBOOK_PAYMENT_API_BASE=localstripe.url,
        MEDBOOK_PAYMENT_JS_URL=f"{localstripe.url}/js.stripe.com/v3/",
        MEDBOOK_LOG_LEVEL="debug",
    )
    yield live
    stop_live_server(live)
    log = live.log_path.read_text()
    assert "Traceback" not in log, log[-5000:]
