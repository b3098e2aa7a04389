// Days, wall-clock times and instants for the administration pages, in the clinic's zone.
import { locale } from "../i18n";

/** Weekday names from 0 = Monday to 6 = Sunday, as the API numbers them. */
export function weekdayNames(style: "long" | "short" = "long"): string[] {
  // 2024-01-01 was a Monday.
  return Array.from({ length: 7 }, (_, n) =>
    new Intl.DateTimeFormat(locale, { weekday: style, timeZone: "UTC" }).format(
      new Date(Date.UTC(2024, 0, 1 + n)),
    ),
  );
}

/** "09:00:00" (as the API answers a wall-clock time) as "09:00" (as a time field holds it). */
export function hhmm(time: string): string {
  return time.slice(0, 5);
}

/** A day with its year, e.g. "Tue, 1 Dec 2026". */
export function dateLabel(day: string): string {
  return new Intl.DateTimeFormat(locale, {
    weekday: "short",
    day: "numeric",
    month: "short",
    year: "numeric",
    timeZone: "UTC",
  }).format(new Date(`${day}T00:00:00Z`));
}

/** An instant as a day and time in the clinic's zone. */
export function dateTimeLabel(iso: string, timeZone: string): string {
  return new Intl.DateTimeFormat(locale, {
    weekday: "short",
    day: "numeric",
    month: "short",
    year: "numeric",
    hour: "numeric",
    minute: "2-digit",
    timeZone,
  }).format(new Date(iso));
}

function offsetMinutes(instant: number, timeZone: string): number {
  const parts = new Intl.DateTimeFormat("en-US", {
    timeZone,
    hourCycle: "h23",
    year: "numeric",
    month: "2-digit",
    day: "2-digit",
    hour: "2-digit",
    minute: "2-digit",
    second: "2-digit",
  }).formatToParts(new Date(instant));
  const part = (type: string) => Number(parts.find((p) => p.type === type)?.value);
  const wall = Date.UTC(
    part("year"),
    part("month") - 1,
    part("day"),
    part("hour"),
    part("minute"),
    part("second"),
  );
  return Math.round((wall - instant) / 60_000);
}

/** A datetime-local value ("2026-12-01T09:00") in the zone, as ISO 8601 with its offset. */
export function zonedIso(local: string, timeZone: string): string {
  const asUtc = Date.parse(`${local}:00Z`);
  let offset = offsetMinutes(asUtc, timeZone);
  offset = offsetMinutes(asUtc - offset * 60_000, timeZone);
  const sign = offset < 0 ? "-" : "+";
  const abs = Math.abs(offset);
  const hours = String(Math.floor(abs / 60)).padStart(2, "0");
  const minutes = String(abs % 60).padStart(2, "0");
  return `${local}:00${sign}${hours}:${minutes}`;
}
