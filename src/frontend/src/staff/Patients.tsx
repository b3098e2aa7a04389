// The desk answers "when is my appointment?": find the patient, see their visits at the clinics
// the role allows (upcoming or past), and open one to check in, move or cancel it.
import { useCallback, useEffect, useState } from "react";
import { Navigate } from "react-router";
import { api, unwrap } from "../api/client";
import { clinicToday, practitionerName, useCatalogue } from "../catalogue";
import { ProblemMessage } from "../components/ProblemMessage";
import { clock, dayLabel, t } from "../i18n";
import { isStaff, useSession } from "../session";
import { useKeyedRead } from "../useKeyedRead";
import { AppointmentPanel } from "./AppointmentPanel";
import { describePatient, PatientSearch, type FoundPatient } from "./PatientSearch";
import type { DeskAppointment, Payment } from "./useClinicDays";

type When = "upcoming" | "past";

export default function Patients() {
  const { session, loading } = useSession();
  const { catalogue, error } = useCatalogue();
  const [patient, setPatient] = useState<FoundPatient | null>(null);
  const [when, setWhen] = useState<When>("upcoming");
  const [open, setOpen] = useState<{ id: string; payment: Payment | undefined } | null>(null);
  // What may be done to a visit depends on the time (check in once it is near, and so on).
  const [now, setNow] = useState(() => Date.now());
  const [notice, setNotice] = useState("");
  const [problem, setProblem] = useState<unknown>(null);

  const read = useCallback(async () => {
    if (!patient) return [];
    const found = unwrap(
      await api.GET("/api/v1/staff/patients/{patient_id}/appointments", {
        params: { path: { patient_id: patient.id }, query: { when } },
      }),
    );
    // A moved visit lives on as its new booking; the old row is history, not a visit.
    return found.appointments.filter((a) => a.status !== "rescheduled");
  }, [patient, when]);
  const {
    value: visits,
    problem: readProblem,
    reload,
  } = useKeyedRead(patient ? `${patient.id}|${when}` : null, read);

  useEffect(() => {
    const timer = setInterval(() => setNow(Date.now()), 30_000);
    return () => clearInterval(timer);
  }, []);

  const manage = async (appointment: DeskAppointment) => {
    setNotice("");
    try {
      const payments = unwrap(
        await api.GET("/api/v1/appointments/{appointment_id}/payments", {
          params: { path: { appointment_id: appointment.id } },
        }),
      );
      const payment = payments.find((p) => p.status !== "cancelled");
      setOpen({ id: appointment.id, payment });
    } catch (failure) {
      setProblem(failure);
    }
  };

  if (loading) return <p aria-busy="true">{t("find.loading")}</p>;
  if (!isStaff(session)) return <Navigate to="/staff/sign-in" replace />;
  if (error) return <ProblemMessage error={error} />;
  if (!catalogue) return <p aria-busy="true">{t("find.loading")}</p>;

  const selected = visits?.find((a) => a.id === open?.id);
  const timeZoneOf = (a: DeskAppointment) =>
    catalogue.clinic(a.clinic_id)?.timezone ?? "Asia/Singapore";

  return (
    <section aria-labelledby="patients-title" className="desk patients-page">
      <h1 id="patients-title">{t("patients.title")}</h1>
      {patient ? (
        <p className="chosen-patient">
          {describePatient(patient)}{" "}
          <button
            type="button"
            className="link-button"
            onClick={() => {
              setPatient(null);
              setOpen(null);
            }}
          >
            {t("desk.otherPatient")}
          </button>
        </p>
      ) : (
        <PatientSearch onPick={setPatient} noneFound={t("patients.noneFound")} />
      )}
      <p className="notice-line" role="status">
        {notice}
      </p>
      <ProblemMessage error={readProblem ?? problem} />
      {patient ? (
        <div className="desk-body">
          <div className="desk-main">
            <div className="tabs" role="group" aria-label={t("patients.visits")}>
              {(["upcoming", "past"] as const).map((tab) => (
                <button
                  key={tab}
                  type="button"
                  aria-pressed={when === tab}
                  onClick={() => {
                    setWhen(tab);
                    setOpen(null);
                  }}
                >
                  {t(tab === "upcoming" ? "mine.upcoming" : "mine.past")}
                </button>
              ))}
            </div>
            {visits === null ? (
              <p aria-busy="true">{t("find.loading")}</p>
            ) : visits.length === 0 ? (
              <p className="empty">{t("patients.noVisits")}</p>
            ) : (
              <ul className="visit-list" aria-label={t("patients.visits")}>
                {visits.map((visit) => {
                  const timeZone = timeZoneOf(visit);
                  const day = clinicToday(timeZone, new Date(visit.start));
                  return (
                    <li key={visit.id}>
                      <span>
                        <strong>
                          {dayLabel(day, "long")}, {clock(visit.start, timeZone)}
                        </strong>{" "}
                        · {catalogue.service(visit.service_id)?.name} ·{" "}
                        {practitionerName(catalogue.practitioner(visit.practitioner_id))} ·{" "}
                        {catalogue.clinic(visit.clinic_id)?.name} · {t(`status.${visit.status}`)}
                      </span>{" "}
                      <button
                        type="button"
                        aria-pressed={open?.id === visit.id}
                        onClick={() => void manage(visit)}
                      >
                        {t("patients.open")}
                      </button>
                    </li>
                  );
                })}
              </ul>
            )}
          </div>
          <div className="desk-side">
            {selected ? (
              <AppointmentPanel
                key={selected.id}
                appointment={selected}
                payment={open?.payment}
                catalogue={catalogue}
                timeZone={timeZoneOf(selected)}
                now={now}
                onChanged={(message) => {
                  setNotice(message);
                  setOpen(null);
                  void reload();
                }}
                onClose={() => setOpen(null)}
              />
            ) : null}
          </div>
        </div>
      ) : null}
    </section>
  );
}
