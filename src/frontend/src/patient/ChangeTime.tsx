// A patient moves their booking: the free times of the same service at the same clinic, kept
// live; the move is one transaction (the new time is taken before the old one is given up).
import { useMemo, useState } from "react";
import { api, unwrap, type Schemas } from "../api/client";
import { clinicToday, practitionerName, type Catalogue } from "../catalogue";
import { DateStrip, nextDays } from "../components/DateStrip";
import { ProblemMessage } from "../components/ProblemMessage";
import { SlotPicker, type Slot } from "../components/SlotPicker";
import { clock, t } from "../i18n";
import { useFreeSlots } from "./useFreeSlots";

interface Props {
  appointment: Schemas["MyAppointmentOut"];
  catalogue: Catalogue;
  onMoved: () => void;
  onCancel: () => void;
}

export function ChangeTime({ appointment, catalogue, onMoved, onCancel }: Props) {
  const clinic = catalogue.clinic(appointment.clinic_id);
  const timeZone = clinic?.timezone ?? "Asia/Singapore";
  const days = useMemo(() => nextDays(clinicToday(timeZone), 14), [timeZone]);
  const [day, setDay] = useState(appointment.start.slice(0, 10));
  const { slots, problem: searchProblem } = useFreeSlots(
    appointment.service_id ?? "",
    day,
    [],
    appointment.clinic_id,
  );
  const [problem, setProblem] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);

  const move = async (slot: Slot) => {
    setBusy(true);
    setProblem(null);
    try {
      unwrap(
        await api.POST("/api/v1/appointments/{appointment_id}/reschedule", {
          params: { path: { appointment_id: appointment.id } },
          body: {
            start: slot.start,
            practitioner_id: slot.practitioner_id,
            clinic_id: slot.clinic_id,
          },
        }),
      );
      onMoved();
    } catch (failure) {
      setProblem(failure);
    } finally {
      setBusy(false);
    }
  };

  return (
    <section className="change-time" aria-labelledby={`move-${appointment.id}`}>
      <h3 id={`move-${appointment.id}`}>{t("mine.pickNewTime")}</h3>
      <DateStrip days={days} selected={day} onSelect={setDay} label={t("find.day")} />
      <ProblemMessage error={problem ?? searchProblem} />
      {slots === null ? (
        <p aria-busy="true">{t("find.loading")}</p>
      ) : (
        <SlotPicker
          slots={slots}
          timeZone={() => timeZone}
          label={(slot) =>
            t("mine.moveTo", {
              time: clock(slot.start, timeZone),
              practitioner: practitionerName(catalogue.practitioner(slot.practitioner_id)),
            })
          }
          detail={(slot) => practitionerName(catalogue.practitioner(slot.practitioner_id))}
          onPick={(slot) => void move(slot)}
          disabled={busy}
        />
      )}
      <button type="button" onClick={onCancel}>
        {t("mine.keep")}
      </button>
    </section>
  );
}
