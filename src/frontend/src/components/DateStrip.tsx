// A row of days to pick from: today and the next `count - 1` days.
import { dayLabel } from "../i18n";

export function nextDays(today: string, count: number): string[] {
  const start = new Date(`${today}T00:00:00Z`);
  return Array.from({ length: count }, (_, n) => {
    const day = new Date(start);
    day.setUTCDate(start.getUTCDate() + n);
    return day.toISOString().slice(0, 10);
  });
}

interface Props {
  days: string[];
  selected: string;
  onSelect: (day: string) => void;
  label: string;
}

export function DateStrip({ days, selected, onSelect, label }: Props) {
  return (
    <div className="date-strip" role="group" aria-label={label}>
      {days.map((day) => (
        <button
          key={day}
          type="button"
          className="date-chip"
          aria-pressed={day === selected}
          onClick={() => onSelect(day)}
        >
          {dayLabel(day)}
        </button>
      ))}
    </div>
  );
}
