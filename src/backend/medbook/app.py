"""The FastAPI application: middleware, routers, and the database for its lifetime."""

from __future__ import annotations

import gc
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from medbook import __version__
from medbook.api_contract import install_api_contract
from medbook.api_docs import install_api_docs
from medbook.booking.repository import patient_booked_at
from medbook.booking.routes import router as booking_router
from medbook.booking.routes import staff_router
from medbook.booking.service import booked_visits
from medbook.boundary import InputBoundary
from medbook.checkout.routes import router as checkout_router
from medbook.checkout.routes import staff_router as checkout_staff_router
from medbook.clinics.admin_routes import router as clinics_admin_router
from medbook.clinics.routes import router as clinics_router
from medbook.clinics.values import BookedVisits
from medbook.data_key import DataKey
from medbook.db import create_engine, database_url, session_factory
from medbook.errors import UnexpectedErrors, install_error_handlers
from medbook.health import router as health_router
from medbook.identity.keys import RelyingPartyKeys, rp_keys_path
from medbook.identity.rate_limits import RateLimits
from medbook.identity.routes import router as identity_router
from medbook.identity.singpass import SingpassClient, SingpassConfig
from medbook.identity.staff_routes import router as staff_auth_router
from medbook.identity.wellknown import router as wellknown_router
from medbook.logs import RequestContext
from medbook.outbound import outbound_client
from medbook.patients.routes import router as patients_router
from medbook.patients.routes import sign_in_router as patient_sign_in_router
from medbook.patients.routes import staff_router as patients_staff_router
from medbook.patients.values import BookedAt
from medbook.payments.service import configured_gateway
from medbook.privacy.routes import router as privacy_router
from medbook.realtime.hub import Hub
from medbook.realtime.routes import router as realtime_router
from medbook.schema import ensure_migrated
from medbook.security import SecurityMiddleware, origin_of, page_csp
from medbook.settings import Settings, get_settings
from medbook.web import install_web_app

SINGPASS_CALLBACK = "/api/v1/auth/singpass/callback"
log = logging.getLogger(__name__)


def singpass_config(settings: Settings) -> SingpassConfig:
    return SingpassConfig(
        profile=settings.singpass_profile,
        issuer=settings.singpass_issuer,
        client_id=settings.singpass_client_id,
        redirect_uri=settings.public_base_url.rstrip("/") + SINGPASS_CALLBACK,
        scope=settings.singpass_scope,
    )


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    settings = get_settings()
    url = database_url()
    await ensure_migrated(url)
    app.state.data_key = DataKey.load(settings.keys_dir)
    app.state.rp_keys = RelyingPartyKeys.load(rp_keys_path(settings.keys_dir))
    app.state.rate_limits = RateLimits(
        settings.rate_limit_storage, key_prefix=settings.rate_limit_key_prefix
    )
    outbound = outbound_client(settings)
    app.state.singpass = SingpassClient(
        singpass_config(settings),
        app.state.rp_keys,
        outbound,
        budget_seconds=settings.outbound_timeout_seconds,
    )
    engine = create_engine(url, settings)
    app.state.engine = engine
    app.state.sessions = session_factory(engine)
    app.state.gateway = configured_gateway(settings, outbound)
    hub = Hub(
        url,
        queue_capacity=settings.ws_queue_capacity,
        heartbeat_seconds=settings.ws_heartbeat_seconds,
    )
    app.state.hub = hub
    # Background work (reconciliation, pruning, hold-expiry announcements) is `medbook
    # worker`'s: this process only serves requests.
    await hub.start()
    log.debug(
        "ready: pool %d+%d, hold %d s, rate limits in %s",
        settings.db_pool_size,
        settings.db_pool_overflow,
        settings.hold_ttl_seconds,
        settings.rate_limit_storage.split(":", 1)[0],
    )
    # What start-up created lives as long as the process: keep it out of the collector's scans.
    gc.freeze()
    try:
        yield
    finally:
        await hub.stop()
        await engine.dispose()
        await outbound.aclose()


def wire_ports(app: FastAPI) -> None:
    """What a lower domain needs from a higher one, handed down here: the lower one declares
    the port (a Protocol) and reads it from app.state in its routes, never importing the
    higher domain (.importlinter's layers)."""
    # Clinics' administration tells the desk which booked visits a change strands.
    visits: BookedVisits = booked_visits
    app.state.booked_visits = visits
    # The desk's patient search is scoped to the patients of the staff member's clinics.
    booked_at: BookedAt = patient_booked_at
    app.state.patient_booked_at = booked_at


def create_app() -> FastAPI:
    app = FastAPI(
        title="Medical Inc. booking API",
        version=__version__,
        description=(
            "Book, hold, confirm and manage appointments at Medical Inc.'s three Singapore clinics. "
            "Errors are RFC 9457 problem+json with a stable `code`. Times are ISO 8601 with the "
            "clinic's UTC offset."
        ),
        lifespan=lifespan,
        # Our own Swagger UI page (api_docs): FastAPI's loads its scripts from a CDN.
        docs_url=None,
        redoc_url=None,
    )
    install_error_handlers(app)
    wire_ports(app)
    settings = get_settings()
    allowed_origins = frozenset({origin_of(settings.public_base_url)})
    gateway_pages = page_csp(
        (origin_of(settings.payment_js_url),), (origin_of(settings.payment_api_base),)
    )
    # Added innermost first: a request meets RequestContext (its id, the access line), then
    # the security headers and Origin check, then the catcher of whatever nobody handled, then
    # the input boundary, and only then the routes.
    app.add_middleware(InputBoundary)
    app.add_middleware(UnexpectedErrors)
    app.add_middleware(SecurityMiddleware, allowed_origins=allowed_origins, page_csp=gateway_pages)
    app.add_middleware(RequestContext)
    install_api_docs(app)
    install_api_contract(app)
    app.include_router(health_router)
    app.include_router(wellknown_router)
    app.include_router(identity_router)
    app.include_router(patient_sign_in_router)
    app.include_router(patients_router)
    app.include_router(patients_staff_router)
    app.include_router(privacy_router)
    app.include_router(clinics_router)
    app.include_router(clinics_admin_router)
    app.include_router(booking_router)
    app.include_router(staff_router)
    app.include_router(checkout_router)
    app.include_router(checkout_staff_router)
    app.include_router(staff_auth_router)
    app.include_router(realtime_router)
    # Last: every other GET path is a page of the web app.
    install_web_app(app, settings.web_dist_dir)
    return app
