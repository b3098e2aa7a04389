// Staff sign-in: password, then the authenticator code (or first-time enrolment of one).
import { useState, type FormEvent } from "react";
import { useNavigate } from "react-router";
import { api, setCsrfToken, unwrap } from "../api/client";
import { ProblemMessage } from "../components/ProblemMessage";
import { t } from "../i18n";
import { useSession } from "../session";

type Step = "password" | "code" | "enrol";

export function StaffSignIn() {
  const navigate = useNavigate();
  const { refresh } = useSession();
  const [step, setStep] = useState<Step>("password");
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const [code, setCode] = useState("");
  const [enrolment, setEnrolment] = useState<{ qr_svg: string; secret: string } | null>(null);
  const [recoveryCodes, setRecoveryCodes] = useState<string[] | null>(null);
  const [problem, setProblem] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);

  const run = async (work: () => Promise<void>) => {
    setBusy(true);
    setProblem(null);
    try {
      await work();
    } catch (error) {
      setProblem(error);
    } finally {
      setBusy(false);
    }
  };

  const signIn = (event: FormEvent) => {
    event.preventDefault();
    void run(async () => {
      const answer = unwrap(
        await api.POST("/api/v1/staff/auth/sign-in", { body: { email, password } }),
      );
      setCsrfToken(answer.csrf_token);
      if (answer.next === "enrol") {
        setEnrolment(unwrap(await api.POST("/api/v1/staff/auth/enrolment")));
        setStep("enrol");
      } else {
        setStep("code");
      }
    });
  };

  const verify = (event: FormEvent) => {
    event.preventDefault();
    void run(async () => {
      if (step === "enrol") {
        const enrolled = unwrap(
          await api.POST("/api/v1/staff/auth/enrolment/confirm", { body: { code } }),
        );
        setCsrfToken(enrolled.csrf_token);
        await refresh();
        setRecoveryCodes(enrolled.recovery_codes);
        return; // shown once: they must be kept before going on
      }
      const answer = unwrap(await api.POST("/api/v1/staff/auth/second-factor", { body: { code } }));
      setCsrfToken(answer.csrf_token);
      await refresh();
      navigate("/staff");
    });
  };

  if (recoveryCodes) {
    return (
      <section aria-labelledby="codes-title" className="narrow">
        <h1 id="codes-title">{t("staff.recoveryTitle")}</h1>
        <p>{t("staff.recoveryHint")}</p>
        <ul className="recovery-codes">
          {recoveryCodes.map((recovery) => (
            <li key={recovery}>
              <code>{recovery}</code>
            </li>
          ))}
        </ul>
        <button type="button" className="primary" onClick={() => navigate("/staff")}>
          {t("staff.recoveryDone")}
        </button>
      </section>
    );
  }

  return (
    <section aria-labelledby="staff-title" className="narrow">
      <h1 id="staff-title">{t("staff.signIn")}</h1>
      <ProblemMessage error={problem} />
      {step === "password" ? (
        <form onSubmit={signIn}>
          <label>
            {t("staff.email")}
            <input
              type="email"
              required
              autoComplete="username"
              value={email}
              onChange={(e) => setEmail(e.target.value)}
            />
          </label>
          <label>
            {t("staff.password")}
            <input
              type="password"
              required
              autoComplete="current-password"
              value={password}
              onChange={(e) => setPassword(e.target.value)}
            />
          </label>
          <button type="submit" className="primary" disabled={busy}>
            {t("staff.next")}
          </button>
        </form>
      ) : (
        <form onSubmit={verify}>
          {enrolment ? (
            <img
              className="qr"
              alt={`Authenticator set-up code ${enrolment.secret}`}
              src={`data:image/svg+xml;utf8,${encodeURIComponent(enrolment.qr_svg)}`}
            />
          ) : null}
          <label>
            {t("staff.code")}
            <input
              inputMode="numeric"
              pattern="[0-9]{6}"
              required
              autoComplete="one-time-code"
              value={code}
              onChange={(e) => setCode(e.target.value.trim())}
            />
          </label>
          <button type="submit" className="primary" disabled={busy}>
            {t("staff.verify")}
          </button>
        </form>
      )}
    </section>
  );
}
