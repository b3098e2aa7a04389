"""`python -m tests.bench web`: how soon the patient's booking page is usable on a mid-range
phone, and how big the web app is.

The phone: Chromium (Debian's) at 390x844 with its CPU slowed 4x and a "fast 3G"-like network
(150 ms round trip, 1.6 Mbit/s down, 750 kbit/s up), cold cache each run, against a real
`medbook serve` on the bench database. "Usable" is when the first free time can be pressed:
the page has loaded its script, asked the API for the day's slots and drawn them. Beside it, the
same page on the unthrottled machine, so the ratio shows what the phone profile costs.
"""

from __future__ import annotations

import asyncio
import gzip
import statistics
import time
from pathlib import Path

from playwright.async_api import async_playwright

from medbook.settings import REPO_ROOT
from tests.live import start_live_server, stop_live_server
from tests.web.conftest import CHROMIUM_PATHS

DIST = REPO_ROOT / "src" / "frontend" / "dist"
RUNS = 5
CPU_SLOWDOWN = 4
NETWORK = {
    "offline": False,
    "latency": 150,
    "downloadThroughput": 1_600_000 / 8,
    "uploadThroughput": 750_000 / 8,
}


def bundle_sizes() -> list[tuple[str, int, int]]:
    sizes = []
    for path in sorted((DIST / "assets").iterdir()):
        raw = path.read_bytes()
        sizes.append((path.name, len(raw), len(gzip.compress(raw, 9))))
    return sizes


async def usable_after(url: str, *, phone: bool) -> list[float]:
    chromium = next(path for path in CHROMIUM_PATHS if Path(path).exists())
    times = []
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=chromium, args=["--disable-background-networking", "--disable-quic"]
        )
        for _ in range(RUNS):
            context = await browser.new_context(viewport={"width": 390, "height": 844})
            page = await context.new_page()
            if phone:
                cdp = await context.new_cdp_session(page)
                await cdp.send("Emulation.setCPUThrottlingRate", {"rate": CPU_SLOWDOWN})
                await cdp.send("Network.enable")
                await cdp.send("Network.emulateNetworkConditions", NETWORK)
            started = time.perf_counter()
            await page.goto(url, wait_until="commit")
            await page.locator("button.slot").first.wait_for(state="visible", timeout=60_000)
            times.append(time.perf_counter() - started)
            await context.close()
        await browser.close()
    return times


def run(database_url: str, keys: Path, scratch: Path, service_id: str, day: str) -> str:
    if not (DIST / "index.html").exists():
        raise SystemExit("build the web app first: make web")
    server = start_live_server(
        database_url,
        scratch / "web-server.log",
        MEDBOOK_KEYS_DIR=str(keys),
        MEDBOOK_WEB_DIST_DIR=str(DIST),
    )
    try:
        url = f"{server.url}/?service={service_id}&day={day}"
        desktop = asyncio.run(usable_after(url, phone=False))
        phone = asyncio.run(usable_after(url, phone=True))
    finally:
        stop_live_server(server)
    sizes = bundle_sizes()
    lines = [
        "| asset | bytes | gzip -9 |",
        "|---|---|---|",
        *(f"| {name} | {raw:,} | {packed:,} |" for name, raw, packed in sizes),
        f"| all | {sum(s[1] for s in sizes):,} | {sum(s[2] for s in sizes):,} |",
        "",
        f"| booking page, first free time pressable ({RUNS} cold loads) | median | max |",
        "|---|---|---|",
        f"| this machine, unthrottled | {statistics.median(desktop):.2f} s | {max(desktop):.2f} s |",
        f"| mid-range phone ({CPU_SLOWDOWN}x CPU, 150 ms RTT, 1.6 Mbit/s) "
        f"| {statistics.median(phone):.2f} s | {max(phone):.2f} s |",
        f"| ratio | {statistics.median(phone) / statistics.median(desktop):.1f}x | |",
    ]
    return "\n".join(lines)
