// Move a booking at the desk: pick a day and one of its free times (any practitioner at the
// clinic offering the service); the move is one transaction on the server.
import { useState } from "react";
import { api, unwrap } from "../api/client";
import { practitionerName, type Catalogue, type Service } from "../catalogue";
import { ProblemMessage } from "../components/ProblemMessage";
import { SlotPicker, type Slot } from "../components/SlotPicker";
import { clock, t } from "../i18n";
import { useFreeSlots } from "../patient/useFreeSlots";
import type { DeskAppointment } from "./useClinicDays";

interface Props {
  appointment: DeskAppointment;
  service: Service;
  catalogue: Catalogue;
  timeZone: string;
  onMoved: () => void;
  onCancel: () => void;
}

export function RescheduleForm({
  appointment,
  service,
  catalogue,
  timeZone,
  onMoved,
  onCancel,
}: Props) {
  const [day, setDay] = useState(appointment.start.slice(0, 10));
  const { slots, problem: searchProblem } = useFreeSlots(
    service.id,
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
        await api.POST("/api/v1/staff/appointments/{appointment_id}/reschedule", {
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
    <section className="move" aria-labelledby="move-title">
      <h3 id="move-title">{t("desk.moveTitle")}</h3>
      <label>
        {t("staff.day")}
        <input type="date" value={day} onChange={(e) => setDay(e.target.value)} required />
      </label>
      <ProblemMessage error={problem ?? searchProblem} />
      {slots === null ? (
        <p aria-busy="true">{t("find.loading")}</p>
      ) : (
        <SlotPicker
          slots={slots}
          timeZone={() => timeZone}
          label={(slot) =>
            t("desk.moveTo", {
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
