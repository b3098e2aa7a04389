"""TLS contexts for every hop we control: TLS 1.3 or nothing.

One place decides the protocol floor, so the API server, outbound HTTPS (Singpass, the payment
gateway) and the database connection cannot drift apart.
"""

from __future__ import annotations

import ssl
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

MINIMUM_VERSION = ssl.TLSVersion.TLSv1_3

# libpq's sslmode values we accept. `allow` and `prefer` are left out on purpose: they fall back
# to plaintext without a word, and whoever sets sslmode at all means to get encryption.
POSTGRES_SSLMODES = ("disable", "require", "verify-ca", "verify-full")


class DatabaseTLSError(ValueError):
    """A database URL asks for a TLS setup we do not support."""


def server_context(cert: Path, key: Path) -> ssl.SSLContext:
    """The context `medbook serve` listens with: refuses any handshake below TLS 1.3."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = MINIMUM_VERSION
    context.load_cert_chain(certfile=cert, keyfile=key)
    return context


def client_context(ca_file: Path | None = None) -> ssl.SSLContext:
    """A client context for HTTPS peers: certificate and hostname verified, TLS 1.3 at least.

    `ca_file` is trusted in addition to the system store (a private CA in tests, a partner's CA).
    """
    context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH)
    context.minimum_version = MINIMUM_VERSION
    if ca_file is not None:
        context.load_verify_locations(cafile=ca_file)
    return context


@dataclass(frozen=True)
class ServerContextFactory:
    """uvicorn's `ssl_context_factory`: our TLS 1.3 context instead of uvicorn's default one.

    An object rather than a closure: with --workers > 1 uvicorn pickles its config into each
    worker process, and a closure cannot be pickled.
    """

    cert: Path
    key: Path

    def __call__(
        self, config: object, default_factory: Callable[[], ssl.SSLContext]
    ) -> ssl.SSLContext:
        return server_context(self.cert, self.key)


def postgres_context(sslmode: str, root_cert: str | None) -> ssl.SSLContext | None:
    """Translate libpq's `sslmode` and `sslrootcert` into a context for asyncpg (None: no TLS).

    As in libpq: verify-full checks the certificate chain and the host name, verify-ca only the
    chain, require only encrypts, except that require with a root certificate given checks the
    chain like verify-ca. Without `sslrootcert` (or with `sslrootcert=system`, libpq 16's
    spelling) the system store is trusted; libpq would look for ~/.postgresql/root.crt instead,
    which nobody deploys.
    """
    if sslmode not in POSTGRES_SSLMODES:
        raise DatabaseTLSError(
            f"sslmode={sslmode} is not supported: use one of {', '.join(POSTGRES_SSLMODES)} "
            "(allow and prefer may silently fall back to plaintext)"
        )
    if sslmode == "disable":
        if root_cert is not None:
            raise DatabaseTLSError("sslrootcert makes no sense with sslmode=disable")
        return None
    if root_cert == "system" and sslmode != "verify-full":
        # libpq refuses this too: trusting every public CA is only safe with the host name checked.
        raise DatabaseTLSError("sslrootcert=system needs sslmode=verify-full")

    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.minimum_version = MINIMUM_VERSION
    verify = sslmode in ("verify-ca", "verify-full") or root_cert is not None
    context.check_hostname = sslmode == "verify-full"
    if not verify:
        context.verify_mode = ssl.CERT_NONE
        return context
    context.verify_mode = ssl.CERT_REQUIRED
    if root_cert is None or root_cert == "system":
        context.load_default_certs(ssl.Purpose.SERVER_AUTH)
    else:
        context.load_verify_locations(cafile=root_cert)
    return context
