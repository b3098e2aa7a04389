// The desk's live view of a clinic: the day (a column per practitioner) or the week, holds with
// their countdown, today's arrivals, and the day's work: select a booking to check in, mark a
// no-show, move or cancel it (with its refund); book a walk-in; block time; print the day.
import { useEffect, useMemo, useState } from "react";
import { Link, Navigate } from "react-router";
import { api, unwrap } from "../api/client";
import { clinicToday, practitionerName, useCatalogue, type Practitioner } from "../catalogue";
import { formatSeconds, remaining } from "../components/Countdown";
import { DayCalendar, type CalendarItem } from "../components/DayCalendar";
import { ProblemMessage } from "../components/ProblemMessage";
import { clock, dayLabel, money, t } from "../i18n";
import { isStaff, useSession } from "../session";
import { AppointmentPanel } from "./AppointmentPanel";
import { BlockForm } from "./BlockForm";
import {
  shiftDay,
  useClinicDays,
  weekStart,
  type DeskAppointment,
  type Payment,
} from "./useClinicDays";
import { WalkInForm } from "./WalkInForm";
import { WeekView } from "./WeekView";

type Panel = { kind: "appointment"; id: string } | { kind: "walk-in" } | { kind: "block" } | null;

export default function Dashboard() {
  const { session, loading } = useSession();
  const { catalogue, error } = useCatalogue();
  const allowed = useMemo(() => {
    if (!catalogue || !session) return [];
    const grants = session.grants ?? [];
    if (grants.some((grant) => grant.clinic_id === null)) return catalogue.clinics;
    return catalogue.clinics.filter((clinic) =>
      grants.some((grant) => grant.clinic_id === clinic.id),
    );
  }, [catalogue, session]);
  const [clinicId, setClinicId] = useState("");
  const [day, setDay] = useState(clinicToday());
  const [view, setView] = useState<"day" | "week">("day");
  const [panel, setPanel] = useState<Panel>(null);
  const [notice, setNotice] = useState("");
  const [practitioners, setPractitioners] = useState<Practitioner[]>([]);
  const [problem, setProblem] = useState<unknown>(null);
  const [now, setNow] = useState(() => Date.now());
  const clinic = allowed.find((c) => c.id === clinicId) ?? allowed[0];
  const first = view === "day" ? day : weekStart(day);
  const last = view === "day" ? day : shiftDay(first, 6);
  const days = useClinicDays(clinic?.id ?? null, first, last);
  const today = clinicToday(clinic?.timezone);

  useEffect(() => {
    if (!clinic) return;
    api
      .GET("/api/v1/practitioners", { params: { query: { clinic_id: clinic.id } } })
      .then(unwrap)
      .then(setPractitioners, setProblem);
  }, [clinic]);

  const holds = days.appointments?.some((a) => a.status === "held") ?? false;
  // Holds count down by the second; otherwise the clock only decides what may be done now.
  useEffect(() => {
    const timer = setInterval(() => setNow(Date.now()), holds ? 1000 : 30_000);
    return () => clearInterval(timer);
  }, [holds]);

  if (loading) return <p aria-busy="true">{t("find.loading")}</p>;
  if (!isStaff(session)) return <Navigate to="/staff/sign-in" replace />;
  if (error) return <ProblemMessage error={error} />;
  if (!catalogue || !clinic) return <p aria-busy="true">{t("find.loading")}</p>;

  const timeZone = clinic.timezone;
  const appointments = days.appointments ?? [];
  const items = appointments.map((a) => toItem(a, days.payments.get(a.id), catalogue, now));
  const selected =
    panel?.kind === "appointment" ? appointments.find((a) => a.id === panel.id) : undefined;
  const practitionerIds = practitioners.map((p) => p.id);
  const done = (message: string) => {
    setNotice(message);
    setPanel(null);
    void days.reload();
  };
  const arrivals = appointments
    .filter((a) => clinicToday(timeZone, new Date(a.start)) === today)
    .filter((a) => a.kind === "appointment" && ["confirmed", "checked_in"].includes(a.status))
    .sort((a, b) => a.start.localeCompare(b.start));

  return (
    <section aria-labelledby="desk-title" className="desk">
      <div className="desk-bar">
        <h1 id="desk-title">
          {clinic.name} ·{" "}
          {view === "day"
            ? dayLabel(day, "long")
            : t("desk.weekOf", { day: dayLabel(first, "long") })}
        </h1>
        <label>
          {t("staff.clinic")}
          <select
            value={clinic.id}
            onChange={(e) => {
              setClinicId(e.target.value);
              setPanel(null);
            }}
          >
            {allowed.map((c) => (
              <option key={c.id} value={c.id}>
                {c.name}
              </option>
            ))}
          </select>
        </label>
        <div role="group" aria-label={t("staff.day")} className="button-row">
          <button type="button" onClick={() => setDay(shiftDay(day, view === "day" ? -1 : -7))}>
            {view === "day" ? t("staff.previousDay") : t("desk.previousWeek")}
          </button>
          <button type="button" onClick={() => setDay(clinicToday(timeZone))}>
            {t("staff.today")}
          </button>
          <button type="button" onClick={() => setDay(shiftDay(day, view === "day" ? 1 : 7))}>
            {view === "day" ? t("staff.nextDay") : t("desk.nextWeek")}
          </button>
        </div>
        <div role="group" aria-label={t("desk.view")} className="button-row">
          <button type="button" aria-pressed={view === "day"} onClick={() => setView("day")}>
            {t("staff.dayView")}
          </button>
          <button type="button" aria-pressed={view === "week"} onClick={() => setView("week")}>
            {t("desk.weekView")}
          </button>
        </div>
        <div className="button-row">
          <button type="button" className="primary" onClick={() => setPanel({ kind: "walk-in" })}>
            {t("desk.walkIn")}
          </button>
          <button type="button" onClick={() => setPanel({ kind: "block" })}>
            {t("desk.blockTime")}
          </button>
          <Link className="button secondary" to={`/staff/day-sheet?clinic=${clinic.id}&day=${day}`}>
            {t("desk.daySheet")}
          </Link>
        </div>
        <span className={`live-state live-${days.live}`} role="status">
          {days.live === "live" ? t("staff.live") : t("staff.reconnecting")}
        </span>
      </div>
      <p className="notice-line" role="status">
        {notice}
      </p>
      <ProblemMessage error={days.problem ?? problem} />
      <div className="desk-body">
        <div className="desk-main">
          {days.appointments === null ? (
            <p aria-busy="true">{t("find.loading")}</p>
          ) : view === "day" ? (
            <DayCalendar
              columns={practitioners.map((p) => ({ id: p.id, name: practitionerName(p) }))}
              items={items}
              timeZone={timeZone}
              label={`${clinic.name}, ${dayLabel(day, "long")}`}
              selected={selected?.id ?? null}
              onSelect={(item) => setPanel({ kind: "appointment", id: item.id })}
            />
          ) : (
            <WeekView
              first={first}
              items={items}
              timeZone={timeZone}
              selected={selected?.id ?? null}
              onSelect={(item) => setPanel({ kind: "appointment", id: item.id })}
            />
          )}
        </div>
        <div className="desk-side">
          {selected ? (
            <AppointmentPanel
              key={selected.id}
              appointment={selected}
              payment={days.payments.get(selected.id)}
              catalogue={catalogue}
              timeZone={timeZone}
              now={now}
              onChanged={done}
              onClose={() => setPanel(null)}
            />
          ) : panel?.kind === "walk-in" ? (
            <WalkInForm
              clinic={clinic}
              catalogue={catalogue}
              practitionerIds={practitionerIds}
              onBooked={done}
              onCancel={() => setPanel(null)}
            />
          ) : panel?.kind === "block" ? (
            <BlockForm
              clinic={clinic}
              catalogue={catalogue}
              practitionerIds={practitionerIds}
              day={day}
              onBlocked={done}
              onCancel={() => setPanel(null)}
            />
          ) : (
            <section className="panel" aria-labelledby="arrivals-title">
              <h2 id="arrivals-title">{t("desk.arrivals")}</h2>
              {arrivals.length === 0 ? <p className="empty">{t("desk.noArrivals")}</p> : null}
              <ul className="arrivals">
                {arrivals.map((a) => (
                  <li key={a.id}>
                    <button
                      type="button"
                      onClick={() => setPanel({ kind: "appointment", id: a.id })}
                    >
                      <strong>{clock(a.start, timeZone)}</strong> {a.patient?.full_name ?? "—"}{" "}
                      <span className={`status status-${a.status}`}>{t(`status.${a.status}`)}</span>
                    </button>
                  </li>
                ))}
              </ul>
            </section>
          )}
        </div>
      </div>
    </section>
  );
}

function toItem(
  appointment: DeskAppointment,
  payment: Payment | undefined,
  catalogue: NonNullable<ReturnType<typeof useCatalogue>["catalogue"]>,
  now: number,
): CalendarItem {
  const service = catalogue.service(appointment.service_id);
  let subtitle = service?.name ?? "";
  if (appointment.status === "held" && appointment.hold_expires_at) {
    const left = remaining(Date.parse(appointment.hold_expires_at), now);
    subtitle = t("staff.hold", { time: formatSeconds(left) });
  } else if (payment?.status === "succeeded") {
    subtitle += ` · ${t("staff.paid", { amount: money(payment.amount_cents, payment.currency) })}`;
  }
  return {
    id: appointment.id,
    practitioner_id: appointment.practitioner_id,
    start: appointment.start,
    end: appointment.end,
    status: appointment.status,
    kind: appointment.kind,
    title:
      appointment.kind === "block"
        ? appointment.note || t("status.blocked")
        : (appointment.patient?.full_name ?? t(`status.${appointment.status}`)),
    subtitle,
  };
}
