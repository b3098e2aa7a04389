// You're booked: the visit, where, and an .ics file for the calendar. After a payment it first
// asks the API (which asks the gateway) until the payment has settled.
import { useEffect, useState } from "react";
import { Link, useParams, useSearchParams } from "react-router";
import { api, unwrap, type Schemas } from "../api/client";
import { practitionerName, useCatalogue } from "../catalogue";
import { ProblemMessage } from "../components/ProblemMessage";
import { clock, dayLabel, t } from "../i18n";

type Appointment = Schemas["AppointmentOut"];

const POLL_MS = 1000;
const POLLS = 30;

export function Confirmation() {
  const { holdId = "" } = useParams();
  const [params] = useSearchParams();
  const paymentId = params.get("payment");
  const { catalogue } = useCatalogue();
  const [appointment, setAppointment] = useState<Appointment | null>(null);
  const [message, setMessage] = useState<string | null>(null);
  const [problem, setProblem] = useState<unknown>(null);

  useEffect(() => {
    let gone = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const look = async (tries: number) => {
      if (paymentId) {
        const page = unwrap(
          await api.GET("/api/v1/payments/{payment_id}", {
            params: { path: { payment_id: paymentId } },
          }),
        );
        if (gone) return;
        setMessage(page.message);
        setAppointment(page.appointment);
        if (page.payment.status !== "succeeded" && tries > 0) {
          timer = setTimeout(() => void look(tries - 1).catch(setProblem), POLL_MS);
        }
        return;
      }
      const found = unwrap(
        await api.GET("/api/v1/appointments/{appointment_id}", {
          params: { path: { appointment_id: holdId } },
        }),
      );
      if (!gone) setAppointment(found);
    };
    look(POLLS).catch((error: unknown) => setProblem(error));
    return () => {
      gone = true;
      clearTimeout(timer);
    };
  }, [holdId, paymentId]);

  if (problem) return <ProblemMessage error={problem} />;
  if (!appointment || !catalogue) return <p aria-busy="true">{t("done.checking")}</p>;

  const clinic = catalogue.clinic(appointment.clinic_id);
  const service = catalogue.service(appointment.service_id);
  const booked = ["confirmed", "checked_in", "completed"].includes(appointment.status);
  const timeZone = clinic?.timezone ?? "Asia/Singapore";
  return (
    <section aria-labelledby="done-title" className="confirmation">
      <h1 id="done-title">{booked ? t("done.title") : t(`status.${appointment.status}`)}</h1>
      {message ? <p role="status">{message}</p> : null}
      <p className="booking-summary">
        <strong>
          {t("done.when", {
            service: service?.name ?? "",
            day: dayLabel(appointment.start.slice(0, 10), "long"),
            time: clock(appointment.start, timeZone),
          })}
        </strong>
        <br />
        {practitionerName(catalogue.practitioner(appointment.practitioner_id))}
        <br />
        {t("done.where", { clinic: clinic?.name ?? "", address: clinic?.address ?? "" })}
      </p>
      {booked ? (
        <a className="button" href={`/api/v1/appointments/${appointment.id}/calendar.ics`} download>
          {t("done.calendar")}
        </a>
      ) : null}
      <p>
        <Link to="/me/appointments">{t("done.appointments")}</Link>
      </p>
    </section>
  );
}
