// Wall-clock times at a clinic, whatever the browser's own zone.

/** The zone's UTC offset at `instant`, as "+08:00". */
export function offsetOf(timeZone: string, instant: Date): string {
  const name = new Intl.DateTimeFormat("en-US", { timeZone, timeZoneName: "longOffset" })
    .formatToParts(instant)
    .find((part) => part.type === "timeZoneName")?.value;
  const offset = name?.replace("GMT", "") ?? "";
  return offset === "" ? "+00:00" : offset;
}

/** "2026-12-01T10:00" at the clinic, as an ISO instant with the clinic's offset. */
export function atClinic(local: string, timeZone: string): string {
  const guess = new Date(`${local}:00Z`);
  return `${local}:00${offsetOf(timeZone, guess)}`;
}

/** Now at the clinic, to the minute, as a datetime-local value. */
export function clinicNow(timeZone: string, now = new Date()): string {
  const parts = new Intl.DateTimeFormat("en-CA", {
    timeZone,
    year: "numeric",
    month: "2-digit",
    day: "2-digit",
    hour: "2-digit",
    minute: "2-digit",
    hourCycle: "h23",
  }).formatToParts(now);
  const get = (type: string) => parts.find((part) => part.type === type)?.value ?? "00";
  return `${get("year")}-${get("month")}-${get("day")}T${get("hour")}:${get("minute")}`;
}
