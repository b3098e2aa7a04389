// Move a booking to one of the free times of its service at its clinic on a chosen day (kept
// live). Patients and the desk differ only in how they choose the day and which door they use.
import { type ReactNode } from "react";
import { practitionerName, type Catalogue } from "../catalogue";
import { clock, t } from "../i18n";
import { useFreeSlots } from "../patient/useFreeSlots";
import { useAction } from "../useAction";
import { ProblemMessage } from "./ProblemMessage";
import { SlotPicker, type Slot } from "./SlotPicker";

/** What both reschedule doors take: the new start, and whose and where it is. */
export function rescheduleBody(slot: Slot) {
  return { start: slot.start, practitioner_id: slot.practitioner_id, clinic_id: slot.clinic_id };
}

interface Props {
  title: string;
  titleId: string;
  serviceId: string;
  clinicId: string;
  day: string;
  dayPicker: ReactNode;
  catalogue: Catalogue;
  timeZone: string;
  move: (slot: Slot) => Promise<unknown>;
  onMoved: () => void;
  onCancel: () => void;
}

export function MoveToFreeTime(props: Props) {
  const { catalogue, timeZone } = props;
  const { slots, problem: searchProblem } = useFreeSlots(
    props.serviceId,
    props.day,
    [],
    props.clinicId,
  );
  const action = useAction();
  const name = (slot: Slot) => practitionerName(catalogue.practitioner(slot.practitioner_id));

  return (
    <section className="change-time" aria-labelledby={props.titleId}>
      <h3 id={props.titleId}>{props.title}</h3>
      {props.dayPicker}
      <ProblemMessage error={action.problem ?? searchProblem} />
      {slots === null ? (
        <p aria-busy="true">{t("find.loading")}</p>
      ) : (
        <SlotPicker
          slots={slots}
          timeZone={() => timeZone}
          label={(slot) =>
            t("mine.moveTo", { time: clock(slot.start, timeZone), practitioner: name(slot) })
          }
          detail={name}
          onPick={(slot) =>
            void action.run(() => props.move(slot)).then((moved) => moved && props.onMoved())
          }
          disabled={action.busy}
        />
      )}
      <button type="button" onClick={props.onCancel}>
        {t("mine.keep")}
      </button>
    </section>
  );
}
