// Move a booking at the desk: any day, any practitioner at the clinic offering the service; no
// online-change window applies to staff. The move is one transaction on the server.
import { useState } from "react";
import { api, unwrap } from "../api/client";
import type { Catalogue, Service } from "../catalogue";
import { MoveToFreeTime, rescheduleBody } from "../components/MoveToFreeTime";
import { t } from "../i18n";
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
  return (
    <MoveToFreeTime
      title={t("desk.moveTitle")}
      titleId={`desk-move-${appointment.id}`}
      serviceId={service.id}
      clinicId={appointment.clinic_id}
      day={day}
      dayPicker={
        <label>
          {t("staff.day")}
          <input type="date" value={day} onChange={(e) => setDay(e.target.value)} required />
        </label>
      }
      catalogue={catalogue}
      timeZone={timeZone}
      move={async (slot) =>
        unwrap(
          await api.POST("/api/v1/staff/appointments/{appointment_id}/reschedule", {
            params: { path: { appointment_id: appointment.id } },
            body: rescheduleBody(slot),
          }),
        )
      }
      onMoved={onMoved}
      onCancel={onCancel}
    />
  );
}
