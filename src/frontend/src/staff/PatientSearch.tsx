// Find a patient at the desk by name, phone or the last characters of the NRIC (shown masked):
// the walk-in form and the patients page both start here. A patient who has never booked at
// this clinic is found only by their whole NRIC or phone number, and shown without contact
// details (ADR 0009).
import { useEffect, useState } from "react";
import { api, unwrap, type Schemas } from "../api/client";
import { ProblemMessage } from "../components/ProblemMessage";
import { t } from "../i18n";

export type FoundPatient = Schemas["PatientMatchOut"];

interface Props {
  onPick: (patient: FoundPatient) => void;
  /** What to say when nobody matches: what the desk can do next here. */
  noneFound: string;
}

export function describePatient(patient: Schemas["PatientSummaryOut"]): string {
  return `${patient.full_name ?? "—"} · ${patient.phone ?? "—"} · ${patient.nric_masked ?? "—"}`;
}

export function PatientSearch({ onPick, noneFound }: Props) {
  const [query, setQuery] = useState("");
  const [found, setFound] = useState<FoundPatient[] | null>(null);
  const [problem, setProblem] = useState<unknown>(null);

  useEffect(() => {
    const term = query.trim();
    if (term.length < 3) {
      setFound(null);
      return;
    }
    let gone = false;
    // Wait for a pause in typing: each search is audited, so not one per key.
    const timer = setTimeout(() => {
      api
        .GET("/api/v1/staff/patients", { params: { query: { q: term } } })
        .then(unwrap)
        .then(
          (results) => {
            if (!gone) {
              setFound(results);
              setProblem(null);
            }
          },
          (failure: unknown) => setProblem(failure),
        );
    }, 250);
    return () => {
      gone = true;
      clearTimeout(timer);
    };
  }, [query]);

  return (
    <>
      <label>
        {t("desk.findPatient")}
        <input
          type="search"
          value={query}
          onChange={(e) => setQuery(e.target.value)}
          aria-describedby="find-hint"
        />
        <span id="find-hint" className="hint">
          {t("desk.findHint")}
        </span>
      </label>
      <ProblemMessage error={problem} />
      {found ? (
        <ul className="patient-results" aria-label={t("desk.results")}>
          {found.length === 0 ? <li>{noneFound}</li> : null}
          {found.map((result) => (
            <li key={result.id}>
              <button type="button" onClick={() => onPick(result)}>
                {describePatient(result)}
                {result.known_here ? null : ` · ${t("desk.newToClinic")}`}
              </button>
            </li>
          ))}
        </ul>
      ) : null}
    </>
  );
}
