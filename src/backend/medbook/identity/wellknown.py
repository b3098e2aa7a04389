"""Our public keys for Singpass: it fetches them to check our client assertions and to encrypt
the ID tokens it sends us."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from medbook.errors import PROBLEM_JSON, Problem
from medbook.identity.keys import KeysUnavailableError, RelyingPartyKeys

router = APIRouter(tags=["identity"])

# Singpass and MockPass refetch on their own schedule; five minutes keeps a rotation visible soon
# while sparing us a request per login.
JWKS_CACHE_CONTROL = "public, max-age=300"


class JsonWebKeySet(BaseModel):
    keys: list[dict[str, str]] = Field(
        description="EC P-256 public keys: use sig (ES256) and use enc (ECDH-ES+A256KW)."
    )


@router.get(
    "/.well-known/jwks.json",
    response_model=JsonWebKeySet,
    responses={
        503: {
            "model": Problem,
            "content": {PROBLEM_JSON: {}},
            "description": "Our keys are not loaded",
        }
    },
    summary="The relying party's public keys (JWKS), for Singpass",
)
async def jwks(request: Request) -> JSONResponse:
    keys = getattr(request.app.state, "rp_keys", None)
    if not isinstance(keys, RelyingPartyKeys):
        raise KeysUnavailableError(
            "Our Singpass keys are not loaded: run `medbook keys generate` and restart."
        )
    return JSONResponse(keys.public_jwks(), headers={"Cache-Control": JWKS_CACHE_CONTROL})
