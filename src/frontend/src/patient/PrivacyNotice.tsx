// The privacy notice patients consent to, as the API keeps it (with its version).
import { useEffect, useState } from "react";
import { api, unwrap } from "../api/client";
import { ProblemMessage } from "../components/ProblemMessage";
import { t } from "../i18n";

export function PrivacyNotice() {
  const [notice, setNotice] = useState<{ version: string; text: string } | null>(null);
  const [problem, setProblem] = useState<unknown>(null);
  useEffect(() => {
    api.GET("/api/v1/privacy-notice").then(unwrap).then(setNotice, setProblem);
  }, []);
  if (problem) return <ProblemMessage error={problem} />;
  if (!notice) return <p aria-busy="true">{t("find.loading")}</p>;
  return (
    <section aria-labelledby="notice-title" className="narrow">
      <h1 id="notice-title">{t("details.notice")}</h1>
      <p className="hint">Version {notice.version}</p>
      {notice.text.split("\n\n").map((paragraph, index) => (
        <p key={index}>{paragraph}</p>
      ))}
    </section>
  );
}
