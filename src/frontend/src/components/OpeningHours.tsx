// A clinic's opening hours, one line per run of days with the same hours ("Mon–Fri 8:00 am–9:00 pm").
import { t } from "../i18n";

export interface Hours {
  weekday: number; // 0 = Monday
  opens: string; // "08:00:00"
  closes: string;
}

const DAYS = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];

function time(value: string): string {
  const [hour = 0, minute = 0] = value.split(":").map(Number);
  const suffix = hour < 12 ? "am" : "pm";
  const twelve = hour % 12 === 0 ? 12 : hour % 12;
  return `${twelve}:${String(minute).padStart(2, "0")} ${suffix}`;
}

/** Days with the same hours grouped into runs; days with no hours are closed. */
export function describeHours(hours: Hours[]): string[] {
  const byDay = DAYS.map((_, day) =>
    hours
      .filter((h) => h.weekday === day)
      .sort((a, b) => a.opens.localeCompare(b.opens))
      .map((h) => `${time(h.opens)}–${time(h.closes)}`)
      .join(", "),
  );
  const lines: string[] = [];
  let start = 0;
  for (let day = 1; day <= DAYS.length; day += 1) {
    if (day < DAYS.length && byDay[day] === byDay[start]) continue;
    const span = start === day - 1 ? DAYS[start] : `${DAYS[start]}–${DAYS[day - 1]}`;
    lines.push(`${span} ${byDay[start] || t("find.closed")}`);
    start = day;
  }
  return lines;
}

export function OpeningHours({ hours }: { hours: Hours[] }) {
  return (
    <ul className="opening-hours" aria-label={t("find.openingHours")}>
      {describeHours(hours).map((line) => (
        <li key={line}>{line}</li>
      ))}
    </ul>
  );
}
