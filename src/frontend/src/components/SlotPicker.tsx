// Free times as buttons; taken ones disappear as the feed says so.
import { clock, t } from "../i18n";

export interface Slot {
  clinic_id: string;
  practitioner_id: string;
  start: string;
  end: string;
}

export function slotKey(slot: Pick<Slot, "practitioner_id" | "start">): string {
  return `${slot.practitioner_id}@${new Date(slot.start).getTime()}`;
}

/** Does a practitioner's [from, until) (a slot.taken change) cover the slot? */
export function overlaps(slot: Slot, practitionerId: string, from: string, until: string): boolean {
  return (
    slot.practitioner_id === practitionerId &&
    new Date(slot.start) < new Date(until) &&
    new Date(slot.end) > new Date(from)
  );
}

interface Props {
  slots: Slot[];
  timeZone: (slot: Slot) => string;
  /** The whole choice in words, for the button's accessible name. */
  label: (slot: Slot) => string;
  /** A second line under the time (who, where), or nothing. */
  detail: (slot: Slot) => string | null;
  onPick: (slot: Slot) => void;
  disabled?: boolean;
}

export function SlotPicker({ slots, timeZone, label, detail, onPick, disabled = false }: Props) {
  if (slots.length === 0) {
    return <p className="empty">{t("find.noTimes")}</p>;
  }
  const sorted = [...slots].sort(
    (a, b) => new Date(a.start).getTime() - new Date(b.start).getTime(),
  );
  return (
    <ul className="slot-list">
      {sorted.map((slot) => {
        const second = detail(slot);
        return (
          <li key={slotKey(slot)}>
            <button
              type="button"
              className="slot"
              disabled={disabled}
              onClick={() => onPick(slot)}
              aria-label={label(slot)}
            >
              <span className="slot-time">{clock(slot.start, timeZone(slot))}</span>
              {second ? <span className="slot-detail">{second}</span> : null}
            </button>
          </li>
        );
      })}
    </ul>
  );
}
