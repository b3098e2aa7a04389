// The booked appointments a change left outside working time. They stay booked: the desk calls
// each patient to move or cancel, so the list names the patient and their phone where the
// staff member may see patients (the API leaves them out otherwise).
import { useEffect, useState } from "react";
import { api, unwrap, type Schemas } from "../api/client";
import { t } from "../i18n";
import "./messages";
import { AdminTable } from "./table";
import { dateTimeLabel } from "./time";

export type Conflict = Schemas["ConflictOut"];
export type PatientSummary = Schemas["PatientSummaryOut"];
export type PatientLoader = (
  conflicts: readonly Conflict[],
) => Promise<Map<string, PatientSummary>>;

export interface ConflictNames {
  practitioner: (id: string) => string;
  service: (id: string | null) => string;
  clinic: (id: string) => { name: string; timezone: string } | undefined;
}

// The desk's period view answers at most 14 days at once.
const MAX_DAYS = 14;

function addDays(day: string, days: number): string {
  const date = new Date(`${day}T00:00:00Z`);
  date.setUTCDate(date.getUTCDate() + days);
  return date.toISOString().slice(0, 10);
}

/** The periods (at most 14 days each) that cover the conflicts' days, per clinic. */
export function periodsToRead(conflicts: readonly Conflict[]) {
  const days = new Map<string, Set<string>>();
  for (const conflict of conflicts) {
    // The API gives start in the clinic's zone: its date part is the clinic's local day.
    const set = days.get(conflict.clinic_id) ?? new Set<string>();
    set.add(conflict.start.slice(0, 10));
    days.set(conflict.clinic_id, set);
  }
  const periods: { clinic_id: string; from: string; to: string }[] = [];
  for (const [clinic_id, set] of days) {
    let current: { clinic_id: string; from: string; to: string } | null = null;
    for (const day of [...set].sort()) {
      if (current && day <= addDays(current.from, MAX_DAYS - 1)) {
        current.to = day;
      } else {
        current = { clinic_id, from: day, to: day };
        periods.push(current);
      }
    }
  }
  return periods;
}

/** Who each conflicting appointment is for, from the desk's view of those days. */
export const loadPatients: PatientLoader = async (conflicts) => {
  const wanted = new Set(conflicts.map((c) => c.appointment_id));
  const found = new Map<string, PatientSummary>();
  const answers = await Promise.allSettled(
    periodsToRead(conflicts).map(({ clinic_id, from, to }) =>
      api
        .GET("/api/v1/staff/clinics/{clinic_id}/appointments", {
          params: { path: { clinic_id }, query: { from, to } },
        })
        .then(unwrap),
    ),
  );
  for (const answer of answers) {
    if (answer.status !== "fulfilled") continue; // names are a help, not a condition
    for (const appointment of answer.value.appointments) {
      if (wanted.has(appointment.id) && appointment.patient) {
        found.set(appointment.id, appointment.patient);
      }
    }
  }
  return found;
};

export function ConflictsList({
  conflicts,
  names,
  load = loadPatients,
}: {
  conflicts: readonly Conflict[];
  names: ConflictNames;
  load?: PatientLoader;
}) {
  const [patients, setPatients] = useState<Map<string, PatientSummary>>(new Map());
  useEffect(() => {
    if (conflicts.length === 0) return;
    let current = true;
    load(conflicts).then(
      (found) => current && setPatients(found),
      () => undefined,
    );
    return () => {
      current = false;
    };
  }, [conflicts, load]);

  if (conflicts.length === 0) return null;
  const sorted = [...conflicts].sort((a, b) => Date.parse(a.start) - Date.parse(b.start));
  return (
    <div className="conflicts">
      <p className="conflicts-title">
        {conflicts.length === 1
          ? t("admin.conflicts.one")
          : t("admin.conflicts.many", { count: conflicts.length })}
      </p>
      <p>{t("admin.conflicts.hint")}</p>
      <AdminTable
        caption={t("admin.conflicts.caption")}
        rows={sorted}
        empty=""
        columns={[
          t("admin.conflicts.when"),
          t("admin.conflicts.patient"),
          t("admin.conflicts.phone"),
          t("admin.conflicts.practitioner"),
          t("admin.conflicts.service"),
          t("admin.conflicts.clinic"),
        ]}
      >
        {(conflict) => {
          const clinic = names.clinic(conflict.clinic_id);
          const patient = patients.get(conflict.appointment_id);
          return (
            <tr key={conflict.appointment_id}>
              <td>{dateTimeLabel(conflict.start, clinic?.timezone ?? "Asia/Singapore")}</td>
              <td>{patient?.full_name ?? t("admin.conflicts.unknownPatient")}</td>
              <td>{patient?.phone ? <a href={`tel:${patient.phone}`}>{patient.phone}</a> : "—"}</td>
              <td>{names.practitioner(conflict.practitioner_id)}</td>
              <td>{names.service(conflict.service_id)}</td>
              <td>{clinic?.name ?? ""}</td>
            </tr>
          );
        }}
      </AdminTable>
    </div>
  );
}
