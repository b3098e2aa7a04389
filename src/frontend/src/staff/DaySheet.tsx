// The day on paper: every booking of a clinic's day in time order, ready to print.
import { useEffect, useState } from "react";
import { Link, Navigate, useSearchParams } from "react-router";
import { api, unwrap, type Schemas } from "../api/client";
import { clinicToday, practitionerName, useCatalogue } from "../catalogue";
import { ProblemMessage } from "../components/ProblemMessage";
import { clock, dayLabel, t } from "../i18n";
import { isStaff, useSession } from "../session";

type DeskAppointment = Schemas["DeskAppointmentOut"];

export default function DaySheet() {
  const { session, loading } = useSession();
  const { catalogue } = useCatalogue();
  const [params] = useSearchParams();
  const clinicId = params.get("clinic") ?? "";
  const day = params.get("day") ?? clinicToday();
  const [appointments, setAppointments] = useState<DeskAppointment[] | null>(null);
  const [problem, setProblem] = useState<unknown>(null);

  useEffect(() => {
    if (!clinicId || !isStaff(session)) return;
    api
      .GET("/api/v1/staff/clinics/{clinic_id}/day", {
        params: { path: { clinic_id: clinicId }, query: { day } },
      })
      .then(unwrap)
      .then((found) => setAppointments(found.appointments), setProblem);
  }, [clinicId, day, session]);

  if (loading) return <p aria-busy="true">{t("find.loading")}</p>;
  if (!isStaff(session)) return <Navigate to="/staff/sign-in" replace />;
  const clinic = catalogue?.clinic(clinicId);
  const timeZone = clinic?.timezone ?? "Asia/Singapore";
  const rows = (appointments ?? [])
    .filter((a) => !["cancelled", "expired", "released", "rescheduled"].includes(a.status))
    .sort((a, b) => a.start.localeCompare(b.start));

  return (
    <section aria-labelledby="sheet-title" className="day-sheet">
      <h1 id="sheet-title">
        {t("desk.daySheet")}: {clinic?.name} · {dayLabel(day, "long")}
      </h1>
      <div className="button-row no-print">
        <button type="button" className="primary" onClick={() => window.print()}>
          {t("desk.print")}
        </button>
        <Link to="/staff">{t("desk.back")}</Link>
      </div>
      <ProblemMessage error={problem} />
      {appointments === null || !catalogue ? (
        <p aria-busy="true">{t("find.loading")}</p>
      ) : (
        <table>
          <caption className="visually-hidden">{t("desk.daySheet")}</caption>
          <thead>
            <tr>
              <th scope="col">{t("desk.time")}</th>
              <th scope="col">{t("desk.with")}</th>
              <th scope="col">{t("desk.patient")}</th>
              <th scope="col">{t("desk.phone")}</th>
              <th scope="col">{t("desk.service")}</th>
              <th scope="col">{t("desk.status")}</th>
              <th scope="col">{t("desk.reason")}</th>
            </tr>
          </thead>
          <tbody>
            {rows.map((a) => (
              <tr key={a.id}>
                <td>
                  {clock(a.start, timeZone)}–{clock(a.end, timeZone)}
                </td>
                <td>{practitionerName(catalogue.practitioner(a.practitioner_id))}</td>
                <td>
                  {a.kind === "block"
                    ? a.note || t("status.blocked")
                    : (a.patient?.full_name ?? "—")}
                </td>
                <td>{a.patient?.phone ?? ""}</td>
                <td>{catalogue.service(a.service_id)?.name ?? ""}</td>
                <td>{t(`status.${a.status}`)}</td>
                <td>{a.visit_reason ?? ""}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
