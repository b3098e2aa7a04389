// The database clock is the only clock for holds: the browser counts down against the server's
// time (its Date header), not its own, which may be minutes off.

/** Milliseconds to add to Date.now() to get the server's time. */
export function serverOffset(response: Response, receivedAt = Date.now()): number {
  const header = response.headers.get("date");
  const server = header ? Date.parse(header) : NaN;
  // The header has whole seconds: take the end of that second, so the countdown may end up to
  // a second early but never promises time the hold does not have (and never shows 5:01).
  return Number.isNaN(server) ? 0 : server + 1000 - receivedAt;
}

/** When, on this browser's clock, the server's `iso` instant comes. */
export function localDeadline(iso: string, offset: number): number {
  return Date.parse(iso) - offset;
}
