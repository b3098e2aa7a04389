// The hold, its countdown from 5:00, the patient's details and consent, then payment in the
// gateway's own fields. When the countdown ends the page says so plainly and offers fresh times.
import { useCallback, useEffect, useRef, useState, type FormEvent } from "react";
import { Link, useNavigate, useParams } from "react-router";
import { api, Problem, unwrap, type Schemas } from "../api/client";
import { practitionerName, useCatalogue } from "../catalogue";
import { Countdown } from "../components/Countdown";
import { ProblemMessage } from "../components/ProblemMessage";
import { clock, dayLabel, money, t } from "../i18n";
import { CardFieldsError, mountCardFields, type CardFields } from "../payments/cardFields";
import { useLiveChanges, type Change } from "../realtime/useLiveChanges";
import { localDeadline, serverOffset } from "../serverClock";
import { useSession } from "../session";

type Appointment = Schemas["AppointmentOut"];
type CheckoutOut = Schemas["CheckoutOut"];

interface Details {
  full_name: string;
  phone: string;
  email: string;
  visit_reason: string;
  consent: boolean;
}

export function Checkout() {
  const { holdId = "" } = useParams();
  const navigate = useNavigate();
  const { catalogue } = useCatalogue();
  const { session } = useSession();
  const [hold, setHold] = useState<Appointment | null>(null);
  const [deadline, setDeadline] = useState<number | null>(null);
  const [expired, setExpired] = useState(false);
  const [problem, setProblem] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const [checkout, setCheckout] = useState<CheckoutOut | null>(null);
  const [details, setDetails] = useState<Details>({
    full_name: "",
    phone: "",
    email: "",
    visit_reason: "",
    consent: false,
  });

  useEffect(() => {
    const patient = session?.patient;
    if (!patient) return;
    setDetails((current) => ({
      ...current,
      full_name: current.full_name || patient.full_name || "",
      phone: current.phone || patient.phone || "",
      email: current.email || patient.email || "",
    }));
  }, [session]);

  useEffect(() => {
    let gone = false;
    (async () => {
      const answer = await api.GET("/api/v1/holds/{hold_id}", {
        params: { path: { hold_id: holdId } },
      });
      const offset = serverOffset(answer.response);
      const found = unwrap(answer);
      if (gone) return;
      setHold(found);
      if (found.status === "held" && found.hold_expires_at) {
        setDeadline(localDeadline(found.hold_expires_at, offset));
      } else if (found.status === "confirmed") {
        navigate(`/book/${holdId}/done`, { replace: true });
      } else {
        setExpired(true);
      }
    })().catch((error: unknown) => setProblem(error));
    return () => {
      gone = true;
    };
  }, [holdId, navigate]);

  // The hold's own news (the feed's "mine" channel): if the server ends it first (its clock
  // is the one that counts), the page says so at once, whatever this phone's clock says.
  const onOwnChange = useCallback(
    (change: Change) => {
      if (change.appointment_id !== holdId) return;
      if (change.status === "expired" || change.status === "released") setExpired(true);
      if (change.status === "confirmed") navigate(`/book/${holdId}/done`, { replace: true });
    },
    [holdId, navigate],
  );
  useLiveChanges(hold ? { channel: "mine" } : null, onOwnChange);

  const service = catalogue?.service(hold?.service_id);
  const clinic = hold ? catalogue?.clinic(hold.clinic_id) : undefined;
  const chooseAgain = `/?service=${hold?.service_id ?? ""}&day=${hold?.start.slice(0, 10) ?? ""}&notice=expired`;

  const release = async () => {
    await api.DELETE("/api/v1/holds/{hold_id}", { params: { path: { hold_id: holdId } } });
    navigate(`/?service=${hold?.service_id ?? ""}&day=${hold?.start.slice(0, 10) ?? ""}`);
  };

  const body = () => ({
    patient: {
      full_name: details.full_name,
      phone: details.phone,
      email: details.email || null,
    },
    visit_reason: details.visit_reason,
    privacy_consent: details.consent,
  });

  const submitDetails = async (event: FormEvent) => {
    event.preventDefault();
    setBusy(true);
    setProblem(null);
    try {
      if (service?.online_payment === "none") {
        unwrap(
          await api.POST("/api/v1/holds/{hold_id}/confirm", {
            params: { path: { hold_id: holdId } },
            body: body(),
          }),
        );
        navigate(`/book/${holdId}/done`);
      } else {
        setCheckout(
          unwrap(
            await api.POST("/api/v1/holds/{hold_id}/payment", {
              params: { path: { hold_id: holdId } },
              body: body(),
            }),
          ),
        );
      }
    } catch (error) {
      if (error instanceof Problem && (error.status === 410 || error.code === "hold_expired")) {
        setExpired(true);
      }
      setProblem(error);
    } finally {
      setBusy(false);
    }
  };

  if (problem && !hold) return <ProblemMessage error={problem} />;
  if (!hold || !catalogue) return <p aria-busy="true">{t("find.loading")}</p>;

  const practitioner = catalogue.practitioner(hold.practitioner_id);
  const timeZone = clinic?.timezone ?? "Asia/Singapore";

  return (
    <section aria-labelledby="hold-title" className="checkout">
      <h1 id="hold-title">{t("hold.title")}</h1>
      <p className="booking-summary">
        <strong>
          {t("hold.when", {
            service: service?.name ?? "",
            day: dayLabel(hold.start.slice(0, 10), "long"),
            time: clock(hold.start, timeZone),
          })}
        </strong>
        <br />
        {t("hold.where", {
          practitioner: practitionerName(practitioner),
          clinic: clinic?.name ?? "",
        })}
      </p>
      {expired ? (
        <div className="expired" role="alert">
          <p>{t("hold.expired")}</p>
          <Link className="button" to={chooseAgain}>
            {t("hold.chooseAgain")}
          </Link>
        </div>
      ) : (
        <>
          {deadline !== null ? (
            <div className="hold-timer">
              <span>{t("hold.countdownLabel")}</span>
              <Countdown deadline={deadline} onExpired={() => setExpired(true)} />
            </div>
          ) : null}
          <ProblemMessage error={problem} />
          {checkout === null ? (
            <DetailsForm
              details={details}
              onChange={setDetails}
              onSubmit={submitDetails}
              busy={busy}
              paid={service?.online_payment !== "none"}
            />
          ) : (
            <Payment
              initial={checkout}
              onPaid={() => navigate(`/book/${holdId}/done?payment=${checkout.payment.id}`)}
              onExpired={() => setExpired(true)}
            />
          )}
          <button type="button" className="link-button" onClick={() => void release()}>
            {t("hold.release")}
          </button>
        </>
      )}
    </section>
  );
}

interface DetailsFormProps {
  details: Details;
  onChange: (details: Details) => void;
  onSubmit: (event: FormEvent) => void;
  busy: boolean;
  paid: boolean;
}

function DetailsForm({ details, onChange, onSubmit, busy, paid }: DetailsFormProps) {
  const set = (name: keyof Details, value: string | boolean) =>
    onChange({ ...details, [name]: value });
  return (
    <form onSubmit={onSubmit} className="details">
      <h2>{t("details.title")}</h2>
      <label>
        {t("details.name")}
        <input
          required
          autoComplete="name"
          value={details.full_name}
          onChange={(e) => set("full_name", e.target.value)}
        />
      </label>
      <label>
        {t("details.phone")}
        <input
          required
          type="tel"
          autoComplete="tel"
          aria-describedby="phone-hint"
          value={details.phone}
          onChange={(e) => set("phone", e.target.value)}
        />
        <span id="phone-hint" className="hint">
          {t("details.phoneHint")}
        </span>
      </label>
      <label>
        {t("details.email")}
        <input
          type="email"
          autoComplete="email"
          value={details.email}
          onChange={(e) => set("email", e.target.value)}
        />
      </label>
      <label>
        {t("details.reason")}
        <textarea
          maxLength={500}
          rows={2}
          aria-describedby="reason-hint"
          value={details.visit_reason}
          onChange={(e) => set("visit_reason", e.target.value)}
        />
        <span id="reason-hint" className="hint">
          {t("details.reasonHint")}
        </span>
      </label>
      <label className="consent">
        <input
          type="checkbox"
          required
          checked={details.consent}
          onChange={(e) => set("consent", e.target.checked)}
        />
        <span>
          {t("details.consent")}{" "}
          <a href="/privacy" target="_blank" rel="noreferrer">
            {t("details.notice")}
          </a>
        </span>
      </label>
      <button type="submit" className="primary" disabled={busy}>
        {paid ? t("details.continue") : t("details.confirm")}
      </button>
    </form>
  );
}

interface PaymentProps {
  initial: CheckoutOut;
  onPaid: () => void;
  onExpired: () => void;
}

function Payment({ initial, onPaid, onExpired }: PaymentProps) {
  const mount = useRef<HTMLDivElement>(null);
  const [fields, setFields] = useState<CardFields | null>(null);
  const [checkout, setCheckout] = useState(initial);
  const [problem, setProblem] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const payment = checkout.payment;
  const amount = money(payment.amount_cents, payment.currency);

  useEffect(() => {
    const gateway = initial.gateway_fields;
    if (!gateway || !mount.current) return;
    let mounted: CardFields | null = null;
    let gone = false;
    mountCardFields(gateway, mount.current).then(
      (ready) => {
        if (gone) ready.destroy();
        else setFields((mounted = ready));
      },
      (error: unknown) => setProblem(error),
    );
    return () => {
      gone = true;
      mounted?.destroy();
    };
  }, [initial.gateway_fields]);

  const refresh = useCallback(async () => {
    const page = unwrap(
      await api.GET("/api/v1/payments/{payment_id}", {
        params: { path: { payment_id: payment.id } },
      }),
    );
    setCheckout(page);
    return page;
  }, [payment.id]);

  const pay = async (event: FormEvent) => {
    event.preventDefault();
    const secret = checkout.gateway_fields?.card_fields_secret;
    if (!fields || !secret) return;
    setBusy(true);
    setProblem(null);
    try {
      const token = await fields.tokenise(secret);
      let answer = unwrap(
        await api.POST("/api/v1/payments/{payment_id}/pay", {
          params: { path: { payment_id: payment.id } },
          body: { payment_method: token },
        }),
      );
      if (answer.payment.status === "requires_action" && answer.gateway_fields?.payment_secret) {
        await fields.bankCheck(answer.gateway_fields.payment_secret);
        answer = await refresh();
      }
      if (answer.payment.status === "succeeded") onPaid();
      else setCheckout(answer);
    } catch (error) {
      if (error instanceof Problem && error.code === "hold_expired") onExpired();
      setProblem(
        error instanceof CardFieldsError ? new Problem(402, "card", error.message) : error,
      );
      // A declined card: fresh card fields for the next try, what was typed stays.
      await refresh().catch(() => undefined);
    } finally {
      setBusy(false);
    }
  };

  return (
    <form onSubmit={pay} className="payment" aria-labelledby="pay-title">
      <h2 id="pay-title">{t("pay.title")}</h2>
      <p>
        {t("pay.amount", {
          purpose: payment.purpose === "deposit" ? t("pay.deposit") : t("pay.full"),
          amount,
        })}
      </p>
      <fieldset>
        <legend>{t("pay.card")}</legend>
        <div id="card-fields" ref={mount} className="card-fields" />
        {fields ? null : <p aria-busy="true">{t("pay.loadingFields")}</p>}
      </fieldset>
      <p className="hint">{t("pay.secure")}</p>
      <ProblemMessage error={problem} />
      <button type="submit" className="primary" disabled={busy || !fields}>
        {busy ? t("pay.working") : t("pay.submit", { amount })}
      </button>
    </form>
  );
}
