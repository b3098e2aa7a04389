// The database clock is the only clock for holds: the browser counts down against the server's
// time (its Date header), not its own, which may be minutes off.

/** Milliseconds to add to Date.now() to get the server's time. */
export function serverOffset(response: Response, receivedAt = Date.now()): number {
  const header = response.headers.get("date");
  const server = header ? Date.parse(header) : NaN;
  // The header has whole seconds: half a second is the best guess within it.
  return Number.isNaN(server) ? 0 : server + 500 - receivedAt;
}

/** When, on this browser's clock, the server's `iso` instant comes. */
export function localDeadline(iso: string, offset: number): number {
  return Date.parse(iso) - offset;
}
