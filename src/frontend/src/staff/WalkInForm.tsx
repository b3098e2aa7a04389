// Book at the desk: find the patient (name, phone or the last characters of the NRIC) or take
// a new one's details, then the service, the practitioner and the time (now by default).
import { useState, type FormEvent } from "react";
import { api, unwrap } from "../api/client";
import { practitionerName, type Catalogue, type Clinic } from "../catalogue";
import { ProblemMessage } from "../components/ProblemMessage";
import { t } from "../i18n";
import { atClinic, clinicNow } from "../time";
import { useAction } from "../useAction";
import { Panel } from "./Panel";
import { describePatient, PatientSearch, type FoundPatient } from "./PatientSearch";

interface Props {
  clinic: Clinic;
  catalogue: Catalogue;
  practitionerIds: string[];
  onBooked: (message: string) => void;
  onCancel: () => void;
}

export function WalkInForm({ clinic, catalogue, practitionerIds, onBooked, onCancel }: Props) {
  const [patient, setPatient] = useState<FoundPatient | null>(null);
  const [newPatient, setNewPatient] = useState({ full_name: "", phone: "", email: "" });
  const [serviceId, setServiceId] = useState(catalogue.services[0]?.id ?? "");
  const offering = practitionerIds
    .map((id) => catalogue.practitioner(id))
    .filter((p) => p?.service_ids.includes(serviceId));
  const [practitionerId, setPractitionerId] = useState("");
  const [start, setStart] = useState(() => clinicNow(clinic.timezone));
  const { busy, problem, run } = useAction();

  const book = async (event: FormEvent) => {
    event.preventDefault();
    const booked = await run(async () =>
      unwrap(
        await api.POST("/api/v1/staff/walk-ins", {
          body: {
            clinic_id: clinic.id,
            practitioner_id: practitionerId || offering[0]?.id || "",
            service_id: serviceId,
            start: atClinic(start, clinic.timezone),
            patient_id: patient?.id ?? null,
            patient: patient
              ? null
              : {
                  full_name: newPatient.full_name,
                  phone: newPatient.phone,
                  email: newPatient.email || null,
                },
          },
        }),
      ),
    );
    if (booked) onBooked(t("desk.walkInBooked"));
  };

  return (
    <Panel id="walk-in-title" title={t("desk.walkIn")} onClose={onCancel}>
      <form onSubmit={book}>
        {patient ? (
          <p className="chosen-patient">
            {describePatient(patient)}{" "}
            <button type="button" className="link-button" onClick={() => setPatient(null)}>
              {t("desk.otherPatient")}
            </button>
          </p>
        ) : (
          <>
            <PatientSearch onPick={setPatient} noneFound={t("desk.noPatient")} />
            <fieldset>
              <legend>{t("desk.newPatient")}</legend>
              <label>
                {t("details.name")}
                <input
                  required
                  value={newPatient.full_name}
                  onChange={(e) => setNewPatient({ ...newPatient, full_name: e.target.value })}
                />
              </label>
              <label>
                {t("details.phone")}
                <input
                  required
                  type="tel"
                  value={newPatient.phone}
                  onChange={(e) => setNewPatient({ ...newPatient, phone: e.target.value })}
                />
              </label>
              <label>
                {t("details.email")}
                <input
                  type="email"
                  value={newPatient.email}
                  onChange={(e) => setNewPatient({ ...newPatient, email: e.target.value })}
                />
              </label>
            </fieldset>
          </>
        )}
        <label>
          {t("find.service")}
          <select value={serviceId} onChange={(e) => setServiceId(e.target.value)}>
            {catalogue.services.map((service) => (
              <option key={service.id} value={service.id}>
                {service.name}
              </option>
            ))}
          </select>
        </label>
        <label>
          {t("find.practitioner")}
          <select value={practitionerId} onChange={(e) => setPractitionerId(e.target.value)}>
            {offering.map((p) =>
              p ? (
                <option key={p.id} value={p.id}>
                  {practitionerName(p)}
                </option>
              ) : null,
            )}
          </select>
        </label>
        <label>
          {t("desk.time")}
          <input
            type="datetime-local"
            required
            value={start}
            onChange={(e) => setStart(e.target.value)}
          />
        </label>
        <ProblemMessage error={problem} />
        <button type="submit" className="primary" disabled={busy}>
          {t("desk.book")}
        </button>
      </form>
    </Panel>
  );
}
