// A clinic's week at a glance: a column per day, bookings in time order.
import type { CalendarItem } from "../components/DayCalendar";
import { clock, dayLabel } from "../i18n";
import { shiftDay } from "./useClinicDays";

const SHOWN = new Set(["held", "confirmed", "checked_in", "completed", "blocked", "no_show"]);

interface Props {
  first: string;
  items: CalendarItem[];
  timeZone: string;
  selected: string | null;
  onSelect: (item: CalendarItem) => void;
}

export function WeekView({ first, items, timeZone, selected, onSelect }: Props) {
  const days = Array.from({ length: 7 }, (_, n) => shiftDay(first, n));
  const dayOf = (iso: string) =>
    new Intl.DateTimeFormat("en-CA", { timeZone }).format(new Date(iso));
  return (
    <div className="week" role="region" aria-label={dayLabel(first, "long")}>
      {days.map((day) => {
        const booked = items
          .filter((item) => SHOWN.has(item.status) && dayOf(item.start) === day)
          .sort((a, b) => a.start.localeCompare(b.start));
        return (
          <section key={day} className="week-day" aria-labelledby={`week-${day}`}>
            <h2 id={`week-${day}`}>{dayLabel(day)}</h2>
            <ul>
              {booked.map((item) => (
                <li key={item.id}>
                  <button
                    type="button"
                    className={`booking booking-${item.status} booking-kind-${item.kind}`}
                    aria-pressed={selected === item.id}
                    onClick={() => onSelect(item)}
                  >
                    <span className="booking-time">{clock(item.start, timeZone)}</span>
                    <span className="booking-title">{item.title}</span>
                  </button>
                </li>
              ))}
            </ul>
          </section>
        );
      })}
    </div>
  );
}
