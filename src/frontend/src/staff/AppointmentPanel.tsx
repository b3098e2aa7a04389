// One booking at the desk: who, what, the payment, and what can be done now (check in,
// no-show, complete, move, cancel with the refund shown).
import { useState, type FormEvent } from "react";
import { api, unwrap } from "../api/client";
import { clinicToday, practitionerName, type Catalogue } from "../catalogue";
import { ProblemMessage } from "../components/ProblemMessage";
import { clock, dayLabel, money, t } from "../i18n";
import { useAction } from "../useAction";
import { Panel } from "./Panel";
import { RescheduleForm } from "./RescheduleForm";
import type { DeskAppointment, Payment } from "./useClinicDays";

interface Props {
  appointment: DeskAppointment;
  payment: Payment | undefined;
  catalogue: Catalogue;
  timeZone: string;
  now: number;
  onChanged: (message: string) => void;
  onClose: () => void;
}

type Mode = "actions" | "cancel" | "move";

export function AppointmentPanel({
  appointment,
  payment,
  catalogue,
  timeZone,
  now,
  onChanged,
  onClose,
}: Props) {
  const [mode, setMode] = useState<Mode>("actions");
  const [reason, setReason] = useState("");
  const { busy, problem, run } = useAction();
  const path = { params: { path: { appointment_id: appointment.id } } };
  const service = catalogue.service(appointment.service_id);
  const started = Date.parse(appointment.start) <= now;
  // Arrivals are checked in on the day of their visit (the server refuses earlier).
  const onItsDay =
    clinicToday(timeZone, new Date(appointment.start)) <= clinicToday(timeZone, new Date(now));
  const refundable =
    payment?.status === "succeeded" ? payment.amount_cents - payment.refunded_cents : 0;

  const act = async (work: () => Promise<unknown>, done: string) => {
    if (await run(work)) {
      setMode("actions");
      onChanged(done);
    }
  };
  // The desk's one-click steps of a visit, each with what it says when done.
  const step = (
    label: string,
    action: "check-in" | "no-show" | "complete",
    done: string,
    primary = false,
  ) => (
    <button
      type="button"
      className={primary ? "primary" : undefined}
      disabled={busy}
      onClick={() =>
        void act(
          async () =>
            unwrap(await api.POST(`/api/v1/staff/appointments/{appointment_id}/${action}`, path)),
          done,
        )
      }
    >
      {label}
    </button>
  );

  const cancel = (event: FormEvent) => {
    event.preventDefault();
    void act(
      async () =>
        unwrap(
          await api.POST("/api/v1/staff/appointments/{appointment_id}/cancel", {
            ...path,
            body: { reason },
          }),
        ),
      t("desk.cancelled"),
    );
  };

  return (
    <Panel
      id="panel-title"
      title={
        appointment.kind === "block"
          ? appointment.note || t("status.blocked")
          : (appointment.patient?.full_name ?? t(`status.${appointment.status}`))
      }
      onClose={onClose}
    >
      <dl className="facts">
        <dt>{t("desk.when")}</dt>
        <dd>
          {dayLabel(appointment.start.slice(0, 10), "long")}, {clock(appointment.start, timeZone)}–
          {clock(appointment.end, timeZone)}
        </dd>
        <dt>{t("desk.with")}</dt>
        <dd>{practitionerName(catalogue.practitioner(appointment.practitioner_id))}</dd>
        {service ? (
          <>
            <dt>{t("desk.service")}</dt>
            <dd>{service.name}</dd>
          </>
        ) : null}
        <dt>{t("desk.status")}</dt>
        <dd>
          <span className={`status status-${appointment.status}`}>
            {t(`status.${appointment.status}`)}
          </span>
        </dd>
        {appointment.patient ? (
          <>
            <dt>{t("desk.phone")}</dt>
            <dd>{appointment.patient.phone ?? "—"}</dd>
            <dt>{t("desk.nric")}</dt>
            <dd>{appointment.patient.nric_masked ?? "—"}</dd>
          </>
        ) : null}
        {appointment.visit_reason ? (
          <>
            <dt>{t("desk.reason")}</dt>
            <dd>{appointment.visit_reason}</dd>
          </>
        ) : null}
        {payment ? (
          <>
            <dt>{t("desk.payment")}</dt>
            <dd>
              {money(payment.amount_cents, payment.currency)} · {payment.status}
              {payment.refunded_cents
                ? ` · ${t("staff.refunded", { amount: money(payment.refunded_cents, payment.currency) })}`
                : ""}
              <br />
              <small>{payment.gateway_reference}</small>
            </dd>
          </>
        ) : null}
      </dl>
      <ProblemMessage error={problem} />
      {appointment.kind === "appointment" && mode === "actions" ? (
        <div className="actions">
          {appointment.status === "confirmed" ? (
            <>
              {onItsDay ? step(t("staff.checkIn"), "check-in", t("desk.checkedIn"), true) : null}
              {started ? step(t("staff.noShow"), "no-show", t("desk.markedNoShow")) : null}
              <button type="button" disabled={busy} onClick={() => setMode("move")}>
                {t("desk.move")}
              </button>
              <button type="button" disabled={busy} onClick={() => setMode("cancel")}>
                {t("staff.cancel")}
              </button>
            </>
          ) : null}
          {appointment.status === "checked_in"
            ? step(t("staff.complete"), "complete", t("desk.completed"), true)
            : null}
        </div>
      ) : null}
      {appointment.kind === "block" && appointment.status === "blocked" ? (
        <button
          type="button"
          disabled={busy}
          onClick={() =>
            void act(
              async () =>
                unwrap(
                  await api.DELETE("/api/v1/staff/blocks/{block_id}", {
                    params: { path: { block_id: appointment.id } },
                  }),
                ),
              t("desk.unblocked"),
            )
          }
        >
          {t("desk.unblock")}
        </button>
      ) : null}
      {mode === "cancel" ? (
        <form className="confirm-panel" onSubmit={cancel}>
          <p>
            {refundable > 0
              ? t("desk.cancelRefunds", { amount: money(refundable, payment?.currency) })
              : t("desk.cancelNoRefund")}
          </p>
          <label>
            {t("staff.cancelReason")}
            <input value={reason} onChange={(e) => setReason(e.target.value)} />
          </label>
          <button type="submit" className="danger" disabled={busy}>
            {refundable > 0
              ? t("staff.cancelWithRefund", { amount: money(refundable, payment?.currency) })
              : t("staff.cancel")}
          </button>
          <button type="button" onClick={() => setMode("actions")}>
            {t("mine.keep")}
          </button>
        </form>
      ) : null}
      {mode === "move" && service ? (
        <RescheduleForm
          appointment={appointment}
          service={service}
          catalogue={catalogue}
          timeZone={timeZone}
          onMoved={() => {
            setMode("actions");
            onChanged(t("desk.moved"));
          }}
          onCancel={() => setMode("actions")}
        />
      ) : null}
    </Panel>
  );
}
