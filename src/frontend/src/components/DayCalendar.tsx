// A clinic's day: one column per practitioner, appointments placed by time. Holds show as
// tentative with their countdown; blocks are grey.
import { clock } from "../i18n";

export interface CalendarItem {
  id: string;
  practitioner_id: string;
  start: string;
  end: string;
  status: string;
  kind: string;
  title: string;
  subtitle?: string;
}

export interface Column {
  id: string;
  name: string;
}

interface Props {
  columns: Column[];
  items: CalendarItem[];
  timeZone: string;
  firstHour?: number;
  lastHour?: number;
  label: string;
  selected?: string | null;
  onSelect?: (item: CalendarItem) => void;
}

const ROW_MINUTES = 15;
const ACTIVE = new Set(["held", "confirmed", "checked_in", "completed", "blocked", "no_show"]);

/** Minutes since midnight in the clinic's zone. */
export function minutesOfDay(iso: string, timeZone: string): number {
  const parts = new Intl.DateTimeFormat("en-GB", {
    hour: "2-digit",
    minute: "2-digit",
    hourCycle: "h23",
    timeZone,
  }).formatToParts(new Date(iso));
  const hour = Number(parts.find((p) => p.type === "hour")?.value ?? 0);
  const minute = Number(parts.find((p) => p.type === "minute")?.value ?? 0);
  return hour * 60 + minute;
}

/** The grid rows an item spans (1-based, CSS grid lines), clipped to the visible hours. */
export function rowsFor(
  item: Pick<CalendarItem, "start" | "end">,
  timeZone: string,
  firstHour: number,
  lastHour: number,
): { first: number; last: number } {
  const top = firstHour * 60;
  const bottom = lastHour * 60;
  const start = Math.max(top, Math.min(bottom, minutesOfDay(item.start, timeZone)));
  const end = Math.max(start + ROW_MINUTES, Math.min(bottom, minutesOfDay(item.end, timeZone)));
  return {
    first: Math.floor((start - top) / ROW_MINUTES) + 2,
    last: Math.ceil((end - top) / ROW_MINUTES) + 2,
  };
}

export function DayCalendar({
  columns,
  items,
  timeZone,
  firstHour = 8,
  lastHour = 20,
  label,
  selected = null,
  onSelect,
}: Props) {
  const rows = ((lastHour - firstHour) * 60) / ROW_MINUTES;
  const shown = items.filter((item) => ACTIVE.has(item.status));
  return (
    <div
      className="day-calendar"
      role="region"
      aria-label={label}
      style={{
        gridTemplateColumns: `4rem repeat(${columns.length}, minmax(10rem, 1fr))`,
        gridTemplateRows: `auto repeat(${rows}, 1.6rem)`,
      }}
    >
      {columns.map((column, index) => (
        <div key={column.id} className="column-head" style={{ gridColumn: index + 2, gridRow: 1 }}>
          {column.name}
        </div>
      ))}
      {Array.from({ length: lastHour - firstHour }, (_, n) => (
        <div
          key={n}
          className="hour-mark"
          style={{ gridColumn: 1, gridRow: `${n * 4 + 2} / span 4` }}
          aria-hidden="true"
        >
          {`${String(firstHour + n).padStart(2, "0")}:00`}
        </div>
      ))}
      {shown.map((item) => {
        const column = columns.findIndex((c) => c.id === item.practitioner_id);
        if (column < 0) return null;
        const { first, last } = rowsFor(item, timeZone, firstHour, lastHour);
        return (
          <button
            type="button"
            key={item.id}
            className={`booking booking-${item.status} booking-kind-${item.kind}`}
            style={{ gridColumn: column + 2, gridRow: `${first} / ${last}` }}
            aria-label={`${clock(item.start, timeZone)} ${item.title}${item.subtitle ? `, ${item.subtitle}` : ""}`}
            aria-pressed={selected === item.id}
            onClick={() => onSelect?.(item)}
          >
            <span className="booking-time">
              {clock(item.start, timeZone)}–{clock(item.end, timeZone)}
            </span>
            <span className="booking-title">{item.title}</span>
            {item.subtitle ? <span className="booking-subtitle">{item.subtitle}</span> : null}
          </button>
        );
      })}
    </div>
  );
}
