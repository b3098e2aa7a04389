// Take a practitioner out of the book for a while (a meeting, a break, a home visit).
import { useState, type FormEvent } from "react";
import { api, unwrap } from "../api/client";
import { practitionerName, type Catalogue, type Clinic } from "../catalogue";
import { ProblemMessage } from "../components/ProblemMessage";
import { t } from "../i18n";
import { atClinic, clinicNow } from "../time";
import { useAction } from "../useAction";
import { Panel } from "./Panel";

interface Props {
  clinic: Clinic;
  catalogue: Catalogue;
  practitionerIds: string[];
  day: string;
  onBlocked: (message: string) => void;
  onCancel: () => void;
}

export function BlockForm({ clinic, catalogue, practitionerIds, day, onBlocked, onCancel }: Props) {
  const hour = clinicNow(clinic.timezone).slice(11, 13);
  const [practitionerId, setPractitionerId] = useState(practitionerIds[0] ?? "");
  const [start, setStart] = useState(`${day}T${hour}:00`);
  const [end, setEnd] = useState(`${day}T${String(Number(hour) + 1).padStart(2, "0")}:00`);
  const [reason, setReason] = useState("");
  const { busy, problem, run } = useAction();

  const block = async (event: FormEvent) => {
    event.preventDefault();
    const blocked = await run(async () =>
      unwrap(
        await api.POST("/api/v1/staff/blocks", {
          body: {
            clinic_id: clinic.id,
            practitioner_id: practitionerId,
            start: atClinic(start, clinic.timezone),
            end: atClinic(end, clinic.timezone),
            reason,
          },
        }),
      ),
    );
    if (blocked) onBlocked(t("desk.blocked"));
  };

  return (
    <Panel id="block-title" title={t("desk.blockTime")} onClose={onCancel}>
      <form onSubmit={block}>
        <label>
          {t("find.practitioner")}
          <select value={practitionerId} onChange={(e) => setPractitionerId(e.target.value)}>
            {practitionerIds.map((id) => (
              <option key={id} value={id}>
                {practitionerName(catalogue.practitioner(id))}
              </option>
            ))}
          </select>
        </label>
        <label>
          {t("desk.from")}
          <input
            type="datetime-local"
            required
            value={start}
            onChange={(e) => setStart(e.target.value)}
          />
        </label>
        <label>
          {t("desk.until")}
          <input
            type="datetime-local"
            required
            value={end}
            onChange={(e) => setEnd(e.target.value)}
          />
        </label>
        <label>
          {t("desk.blockReason")}
          <input value={reason} maxLength={500} onChange={(e) => setReason(e.target.value)} />
        </label>
        <ProblemMessage error={problem} />
        <button type="submit" className="primary" disabled={busy}>
          {t("desk.blockTime")}
        </button>
      </form>
    </Panel>
  );
}
