// The desk's live day: a column per practitioner, holds with their countdown, and the actions
// of the day (check in, no-show, complete, cancel with refund). Changes arrive without reload.
import { useCallback, useEffect, useMemo, useRef, useState } from "react";
import { Navigate } from "react-router";
import { api, unwrap, type Schemas } from "../api/client";
import { clinicToday, practitionerName, useCatalogue, type Practitioner } from "../catalogue";
import { formatSeconds, remaining } from "../components/Countdown";
import { DayCalendar, type CalendarItem } from "../components/DayCalendar";
import { nextDays } from "../components/DateStrip";
import { ProblemMessage } from "../components/ProblemMessage";
import { dayLabel, money, t } from "../i18n";
import { useLiveChanges } from "../realtime/useLiveChanges";
import { isStaff, useSession } from "../session";

type DayAppointment = Schemas["ClinicDayOut"]["appointments"][number];
type Payment = Schemas["PaymentOut"];

function shiftDay(day: string, by: number): string {
  const date = new Date(`${day}T00:00:00Z`);
  date.setUTCDate(date.getUTCDate() + by);
  return date.toISOString().slice(0, 10);
}

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
  const [clinicId, setClinicId] = useState<string>("");
  const [day, setDay] = useState(clinicToday());
  const [appointments, setAppointments] = useState<DayAppointment[] | null>(null);
  const [payments, setPayments] = useState<Map<string, Payment>>(new Map());
  const [practitioners, setPractitioners] = useState<Practitioner[]>([]);
  const [problem, setProblem] = useState<unknown>(null);
  const [now, setNow] = useState(() => Date.now());
  const clinic = allowed.find((c) => c.id === clinicId) ?? allowed[0];

  const load = useCallback(async () => {
    if (!clinic) return;
    const path = { params: { path: { clinic_id: clinic.id }, query: { day } } };
    try {
      const [booked, paid] = await Promise.all([
        api.GET("/api/v1/staff/clinics/{clinic_id}/day", path).then(unwrap),
        api.GET("/api/v1/staff/clinics/{clinic_id}/payments", path).then(unwrap),
      ]);
      setAppointments(booked.appointments);
      setPayments(
        new Map(paid.filter((p) => p.status !== "cancelled").map((p) => [p.appointment_id, p])),
      );
      setProblem(null);
    } catch (failure) {
      setProblem(failure);
    }
  }, [clinic, day]);

  useEffect(() => {
    setAppointments(null);
    void load();
  }, [load]);

  useEffect(() => {
    if (!clinic) return;
    api
      .GET("/api/v1/practitioners", { params: { query: { clinic_id: clinic.id } } })
      .then(unwrap)
      .then(setPractitioners, setProblem);
  }, [clinic]);

  // Every change on the feed for this clinic and day: read the day again (one request, and the
  // page then shows exactly what the database has), at most every 150 ms.
  const pending = useRef<ReturnType<typeof setTimeout> | undefined>(undefined);
  const onChange = useCallback(() => {
    clearTimeout(pending.current);
    pending.current = setTimeout(() => void load(), 150);
  }, [load]);
  const live = useLiveChanges(
    clinic ? { channel: "staff", clinic_ids: [clinic.id], from: day, to: day } : null,
    onChange,
  );

  const holds = appointments?.some((a) => a.status === "held") ?? false;
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
  const items: CalendarItem[] = (appointments ?? []).map((appointment) => {
    const service = catalogue.service(appointment.service_id);
    const patient = appointment.patient;
    const payment = payments.get(appointment.id);
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
          : (patient?.full_name ?? t(`status.${appointment.status}`)),
      subtitle,
    };
  });
  const columns = practitioners.map((p) => ({ id: p.id, name: practitionerName(p) }));
  const byId = new Map((appointments ?? []).map((a) => [a.id, a]));

  return (
    <section aria-labelledby="desk-title" className="desk">
      <div className="desk-bar">
        <h1 id="desk-title">
          {clinic.name} · {dayLabel(day, "long")}
        </h1>
        <label>
          {t("staff.clinic")}
          <select value={clinic.id} onChange={(e) => setClinicId(e.target.value)}>
            {allowed.map((c) => (
              <option key={c.id} value={c.id}>
                {c.name}
              </option>
            ))}
          </select>
        </label>
        <div role="group" aria-label={t("staff.day")}>
          <button type="button" onClick={() => setDay(shiftDay(day, -1))}>
            {t("staff.previousDay")}
          </button>
          <button type="button" onClick={() => setDay(clinicToday())}>
            {t("staff.today")}
          </button>
          <button type="button" onClick={() => setDay(nextDays(day, 2)[1] ?? day)}>
            {t("staff.nextDay")}
          </button>
        </div>
        <span className={`live-state live-${live}`} role="status">
          {live === "live" ? t("staff.live") : t("staff.reconnecting")}
        </span>
      </div>
      <ProblemMessage error={problem} />
      {appointments === null ? (
        <p aria-busy="true">{t("find.loading")}</p>
      ) : (
        <DayCalendar
          columns={columns}
          items={items}
          timeZone={timeZone}
          label={`${clinic.name}, ${dayLabel(day, "long")}`}
          renderActions={(item) => {
            const appointment = byId.get(item.id);
            return appointment ? (
              <Actions
                appointment={appointment}
                payment={payments.get(item.id)}
                now={now}
                onDone={() => void load()}
              />
            ) : null;
          }}
        />
      )}
      {items.length === 0 && appointments !== null ? (
        <p className="empty">{t("staff.noAppointments")}</p>
      ) : null}
    </section>
  );
}

interface ActionsProps {
  appointment: DayAppointment;
  payment: Payment | undefined;
  now: number;
  onDone: () => void;
}

function Actions({ appointment, payment, now, onDone }: ActionsProps) {
  const [confirming, setConfirming] = useState(false);
  const [reason, setReason] = useState("");
  const [problem, setProblem] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const path = { params: { path: { appointment_id: appointment.id } } };
  const started = Date.parse(appointment.start) <= now;

  const act = async (work: () => Promise<unknown>) => {
    setBusy(true);
    setProblem(null);
    try {
      await work();
      setConfirming(false);
      onDone();
    } catch (failure) {
      setProblem(failure);
    } finally {
      setBusy(false);
    }
  };

  if (appointment.kind !== "appointment") return null;
  const refundable =
    payment && payment.status === "succeeded" ? payment.amount_cents - payment.refunded_cents : 0;
  return (
    <div className="booking-actions">
      <ProblemMessage error={problem} />
      {appointment.status === "confirmed" ? (
        <>
          <button
            type="button"
            disabled={busy}
            onClick={() =>
              void act(async () =>
                unwrap(
                  await api.POST("/api/v1/staff/appointments/{appointment_id}/check-in", path),
                ),
              )
            }
          >
            {t("staff.checkIn")}
          </button>
          {started ? (
            <button
              type="button"
              disabled={busy}
              onClick={() =>
                void act(async () =>
                  unwrap(
                    await api.POST("/api/v1/staff/appointments/{appointment_id}/no-show", path),
                  ),
                )
              }
            >
              {t("staff.noShow")}
            </button>
          ) : null}
          <button type="button" disabled={busy} onClick={() => setConfirming(true)}>
            {t("staff.cancel")}
          </button>
        </>
      ) : null}
      {appointment.status === "checked_in" ? (
        <button
          type="button"
          disabled={busy}
          onClick={() =>
            void act(async () =>
              unwrap(await api.POST("/api/v1/staff/appointments/{appointment_id}/complete", path)),
            )
          }
        >
          {t("staff.complete")}
        </button>
      ) : null}
      {confirming ? (
        <form
          className="confirm-panel"
          onSubmit={(event) => {
            event.preventDefault();
            void act(async () =>
              unwrap(
                await api.POST("/api/v1/staff/appointments/{appointment_id}/cancel", {
                  ...path,
                  body: { reason },
                }),
              ),
            );
          }}
        >
          <label>
            {t("staff.cancelReason")}
            <input value={reason} onChange={(e) => setReason(e.target.value)} />
          </label>
          <button type="submit" className="danger" disabled={busy}>
            {refundable > 0
              ? t("staff.cancelWithRefund", { amount: money(refundable, payment?.currency) })
              : t("staff.cancel")}
          </button>
          <button type="button" onClick={() => setConfirming(false)}>
            {t("mine.keep")}
          </button>
        </form>
      ) : null}
    </div>
  );
}
