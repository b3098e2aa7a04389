"""Another commit's API beside this one, for side-by-side benchmarks (BENCH_BASELINE=<commit>).

The machine is shared and noisy, so a change is measured against the code before it in the same
run, rounds alternating, and reported as ratios. The other commit's `src/backend` is exported
with `git archive` into a temporary folder and put first on the API processes' PYTHONPATH. The
race benchmark gives each version a database at its own schema; the booking benchmark shares
one, so its baseline must have the same migrations.
"""

from __future__ import annotations

import io
import shutil
import subprocess
import tarfile
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from medbook.settings import REPO_ROOT


@dataclass(frozen=True)
class Baseline:
    label: str  # the commit, short
    env: dict[str, str]  # for start_live_server: runs that commit's medbook


@contextmanager
def baseline_code(commit: str | None) -> Iterator[Baseline | None]:
    if not commit:
        yield None
        return
    git = ["git", "-C", str(REPO_ROOT)]
    label = subprocess.run(
        [*git, "rev-parse", "--short", commit], check=True, capture_output=True, text=True
    ).stdout.strip()
    archive = subprocess.run(
        [*git, "archive", commit, "src/backend"], check=True, capture_output=True
    ).stdout
    directory = Path(tempfile.mkdtemp(prefix=f"medbook-{label}-"))
    try:
        with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
            tar.extractall(directory, filter="data")
        yield Baseline(label, {"PYTHONPATH": str(directory / "src" / "backend")})
    finally:
        shutil.rmtree(directory, ignore_errors=True)
