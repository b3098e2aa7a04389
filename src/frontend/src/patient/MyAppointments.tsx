// The patient's appointments: upcoming and past; cancel (with the refund shown first), receipts,
// and the calendar file.
import { useCallback, useEffect, useState } from "react";
import { Link } from "react-router";
import { api, unwrap, type Schemas } from "../api/client";
import { practitionerName, useCatalogue } from "../catalogue";
import { ProblemMessage } from "../components/ProblemMessage";
import { clock, dayLabel, money, t } from "../i18n";
import { isPatient, singpassLoginUrl, useSession } from "../session";
import { ChangeTime } from "./ChangeTime";

type Appointment = Schemas["MyAppointmentOut"];
type Quote = Schemas["CancellationQuoteOut"];
type Payment = Schemas["PaymentOut"];

export function MyAppointments() {
  const { session, loading } = useSession();
  const { catalogue } = useCatalogue();
  const [when, setWhen] = useState<"upcoming" | "past">("upcoming");
  const [appointments, setAppointments] = useState<Appointment[] | null>(null);
  const [problem, setProblem] = useState<unknown>(null);

  const load = useCallback(async () => {
    setProblem(null);
    try {
      const found = unwrap(
        await api.GET("/api/v1/me/appointments", { params: { query: { when } } }),
      );
      // A moved visit lives on as its new booking; the old row is history, not a visit.
      setAppointments(found.filter((a) => a.status !== "rescheduled"));
    } catch (error) {
      setProblem(error);
    }
  }, [when]);

  useEffect(() => {
    if (isPatient(session)) void load();
  }, [session, load]);

  if (loading) return <p aria-busy="true">{t("find.loading")}</p>;
  if (!isPatient(session)) {
    return (
      <section>
        <h1>{t("mine.title")}</h1>
        <p>{t("signin.needed")}</p>
        <a className="button" href={singpassLoginUrl("/me/appointments")}>
          {t("signin.patient")}
        </a>
      </section>
    );
  }

  return (
    <section aria-labelledby="mine-title">
      <h1 id="mine-title">{t("mine.title")}</h1>
      <div className="tabs" role="group" aria-label={t("mine.title")}>
        {(["upcoming", "past"] as const).map((tab) => (
          <button key={tab} type="button" aria-pressed={when === tab} onClick={() => setWhen(tab)}>
            {t(tab === "upcoming" ? "mine.upcoming" : "mine.past")}
          </button>
        ))}
      </div>
      <ProblemMessage error={problem} />
      {appointments === null || !catalogue ? (
        <p aria-busy="true">{t("find.loading")}</p>
      ) : appointments.length === 0 ? (
        <p className="empty">
          {t("mine.none")} <Link to="/">{t("nav.book")}</Link>
        </p>
      ) : (
        <ul className="appointment-list">
          {appointments.map((appointment) => (
            <AppointmentCard
              key={appointment.id}
              appointment={appointment}
              upcoming={when === "upcoming"}
              onChanged={() => void load()}
            />
          ))}
        </ul>
      )}
    </section>
  );
}

interface CardProps {
  appointment: Appointment;
  upcoming: boolean;
  onChanged: () => void;
}

function AppointmentCard({ appointment, upcoming, onChanged }: CardProps) {
  const { catalogue } = useCatalogue();
  const [quote, setQuote] = useState<Quote | null>(null);
  const [moving, setMoving] = useState(false);
  const [payments, setPayments] = useState<Payment[] | null>(null);
  const [problem, setProblem] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  if (!catalogue) return null;
  const clinic = catalogue.clinic(appointment.clinic_id);
  const service = catalogue.service(appointment.service_id);
  const timeZone = clinic?.timezone ?? "Asia/Singapore";
  const path = { params: { path: { appointment_id: appointment.id } } };
  const cancellable = upcoming && appointment.status === "confirmed";

  const askCancel = async () => {
    setProblem(null);
    try {
      setQuote(unwrap(await api.GET("/api/v1/appointments/{appointment_id}/cancellation", path)));
    } catch (error) {
      setProblem(error);
    }
  };
  const cancel = async () => {
    setBusy(true);
    try {
      unwrap(
        await api.POST("/api/v1/appointments/{appointment_id}/cancel", {
          ...path,
          body: { reason: "" },
        }),
      );
      setQuote(null);
      onChanged();
    } catch (error) {
      setProblem(error);
    } finally {
      setBusy(false);
    }
  };
  const showReceipt = async () => {
    try {
      setPayments(unwrap(await api.GET("/api/v1/appointments/{appointment_id}/payments", path)));
    } catch (error) {
      setProblem(error);
    }
  };

  const currency = quote?.currency ?? "SGD";
  const kept = quote ? quote.paid_cents - quote.refund_cents : 0;
  return (
    <li className="appointment-card">
      <h2>
        {service?.name} · {dayLabel(appointment.start.slice(0, 10), "long")},{" "}
        {clock(appointment.start, timeZone)}
      </h2>
      <p>
        {practitionerName(catalogue.practitioner(appointment.practitioner_id))}, {clinic?.name}
        <br />
        <span className={`status status-${appointment.status}`}>
          {t(`status.${appointment.status}`)}
        </span>
      </p>
      <ProblemMessage error={problem} />
      {moving ? (
        <ChangeTime
          appointment={appointment}
          catalogue={catalogue}
          onMoved={() => {
            setMoving(false);
            onChanged();
          }}
          onCancel={() => setMoving(false)}
        />
      ) : quote ? (
        <div className="confirm-panel" role="alertdialog" aria-labelledby={`q-${appointment.id}`}>
          <p id={`q-${appointment.id}`}>
            <strong>{t("mine.cancelQuestion")}</strong>{" "}
            {quote.paid_cents === 0
              ? t("mine.refundNone")
              : kept > 0
                ? t("mine.refundPart", {
                    amount: money(quote.refund_cents, currency),
                    kept: money(kept, currency),
                    hours: service?.cancellation_window_hours ?? 0,
                  })
                : t("mine.refundAll", { amount: money(quote.refund_cents, currency) })}
          </p>
          <button type="button" className="danger" disabled={busy} onClick={() => void cancel()}>
            {t("mine.confirmCancel")}
          </button>
          <button type="button" onClick={() => setQuote(null)}>
            {t("mine.keep")}
          </button>
        </div>
      ) : (
        <div className="actions">
          {cancellable ? (
            <>
              <button type="button" onClick={() => setMoving(true)}>
                {t("mine.reschedule")}
              </button>
              <button type="button" onClick={() => void askCancel()}>
                {t("mine.cancel")}
              </button>
            </>
          ) : null}
          <button type="button" onClick={() => void showReceipt()}>
            {t("mine.receipt")}
          </button>
          {appointment.status === "confirmed" ? (
            <a href={`/api/v1/appointments/${appointment.id}/calendar.ics`} download>
              {t("done.calendar")}
            </a>
          ) : null}
        </div>
      )}
      {payments ? (
        <ul className="receipt">
          {payments.length === 0 ? <li>{t("mine.refundNone")}</li> : null}
          {payments.map((payment) => (
            <li key={payment.id}>
              {money(payment.amount_cents, payment.currency)} · {payment.status} ·{" "}
              {payment.gateway_reference}
              {payment.refunds.map((refund) => (
                <span key={refund.id}>
                  {" "}
                  · {t("staff.refunded", { amount: money(refund.amount_cents, payment.currency) })}
                </span>
              ))}
            </li>
          ))}
        </ul>
      ) : null}
    </li>
  );
}
