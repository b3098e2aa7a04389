// A patient moves their booking: the free times of the same service at the same clinic, kept
// live; the move is one transaction (the new time is taken before the old one is given up).
import { useMemo, useState } from "react";
import { api, unwrap, type Schemas } from "../api/client";
import { clinicToday, type Catalogue } from "../catalogue";
import { DateStrip, nextDays } from "../components/DateStrip";
import { MoveToFreeTime, rescheduleBody } from "../components/MoveToFreeTime";
import { t } from "../i18n";

interface Props {
  appointment: Schemas["MyAppointmentOut"];
  catalogue: Catalogue;
  onMoved: () => void;
  onCancel: () => void;
}

export function ChangeTime({ appointment, catalogue, onMoved, onCancel }: Props) {
  const timeZone = catalogue.clinic(appointment.clinic_id)?.timezone ?? "Asia/Singapore";
  const days = useMemo(() => nextDays(clinicToday(timeZone), 14), [timeZone]);
  const [day, setDay] = useState(appointment.start.slice(0, 10));
  return (
    <MoveToFreeTime
      title={t("mine.pickNewTime")}
      titleId={`move-${appointment.id}`}
      serviceId={appointment.service_id ?? ""}
      clinicId={appointment.clinic_id}
      day={day}
      dayPicker={<DateStrip days={days} selected={day} onSelect={setDay} label={t("find.day")} />}
      catalogue={catalogue}
      timeZone={timeZone}
      move={async (slot) =>
        unwrap(
          await api.POST("/api/v1/appointments/{appointment_id}/reschedule", {
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
