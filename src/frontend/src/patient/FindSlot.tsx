// Find a slot: service, clinic (or any), practitioner (or any), a day, and the free times,
// kept current by the availability feed while the page is open.
import { useCallback, useEffect, useMemo, useState } from "react";
import { useNavigate, useSearchParams } from "react-router";
import { api, Problem, unwrap } from "../api/client";
import { clinicToday, practitionerName, useCatalogue } from "../catalogue";
import { DateStrip, nextDays } from "../components/DateStrip";
import { OpeningHours } from "../components/OpeningHours";
import { ProblemMessage } from "../components/ProblemMessage";
import { SlotPicker, type Slot } from "../components/SlotPicker";
import { clock, dayLabel, money, t } from "../i18n";
import { isPatient, singpassLoginUrl, useSession } from "../session";
import { useFreeSlots } from "./useFreeSlots";

const DAYS_SHOWN = 14;
const PENDING = "medbook.pending-slot";

interface Pending extends Slot {
  service_id: string;
}

export function FindSlot() {
  const { catalogue, error: catalogueError } = useCatalogue();
  const { session } = useSession();
  const navigate = useNavigate();
  const [params, setParams] = useSearchParams();
  const today = clinicToday();
  const days = useMemo(() => nextDays(today, DAYS_SHOWN), [today]);

  const serviceId = params.get("service") ?? catalogue?.services[0]?.id ?? "";
  const clinicId = params.get("clinic") ?? "";
  const practitionerId = params.get("practitioner") ?? "";
  const day = params.get("day") ?? today;
  const notice = params.get("notice");

  const [problem, setProblem] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);

  const choose = (name: string, value: string) => {
    const next = new URLSearchParams(params);
    if (value) next.set(name, value);
    else next.delete(name);
    if (name === "clinic" || name === "service") next.delete("practitioner");
    next.delete("notice");
    setParams(next, { replace: true });
  };

  const allClinics = useMemo(() => catalogue?.clinics.map((c) => c.id) ?? [], [catalogue]);
  const {
    slots,
    problem: searchProblem,
    live,
    search,
  } = useFreeSlots(serviceId, day, allClinics, clinicId, practitionerId);

  const hold = useCallback(
    async (slot: Slot, service: string) => {
      setBusy(true);
      setProblem(null);
      try {
        const held = unwrap(
          await api.POST("/api/v1/holds", {
            body: {
              clinic_id: slot.clinic_id,
              practitioner_id: slot.practitioner_id,
              service_id: service,
              start: slot.start,
            },
          }),
        );
        navigate(`/book/${held.hold_id}`);
      } catch (error) {
        if (error instanceof Problem && error.code === "slot_taken") {
          setProblem(new Problem(409, "slot_taken", t("find.taken")));
          void search();
        } else {
          setProblem(error);
        }
      } finally {
        setBusy(false);
      }
    },
    [navigate, search],
  );

  // Back from Singpass with a time picked before signing in: hold it now.
  useEffect(() => {
    const saved = sessionStorage.getItem(PENDING);
    if (!saved || !isPatient(session)) return;
    sessionStorage.removeItem(PENDING);
    const pending = JSON.parse(saved) as Pending;
    void hold(pending, pending.service_id);
  }, [session, hold]);

  const pick = (slot: Slot) => {
    if (!isPatient(session)) {
      const pending: Pending = { ...slot, service_id: serviceId };
      sessionStorage.setItem(PENDING, JSON.stringify(pending));
      window.location.assign(singpassLoginUrl(`/?${params.toString()}`));
      return;
    }
    void hold(slot, serviceId);
  };

  if (catalogueError) return <ProblemMessage error={catalogueError} />;
  if (!catalogue) return <p aria-busy="true">{t("find.loading")}</p>;

  const service = catalogue.service(serviceId);
  const clinic = clinicId ? catalogue.clinic(clinicId) : undefined;
  const practitioners = catalogue.practitioners.filter((p) => p.service_ids.includes(serviceId));
  const describe = (slot: Slot) =>
    t("find.pick", {
      time: clock(slot.start, catalogue.clinic(slot.clinic_id)?.timezone),
      practitioner: practitionerName(catalogue.practitioner(slot.practitioner_id)),
      clinic: catalogue.clinic(slot.clinic_id)?.name ?? "",
    });
  const detail = (slot: Slot) => {
    const parts = [];
    if (!practitionerId) parts.push(practitionerName(catalogue.practitioner(slot.practitioner_id)));
    if (!clinicId) parts.push(catalogue.clinic(slot.clinic_id)?.name ?? "");
    return parts.join(" · ") || null;
  };

  return (
    <section aria-labelledby="find-title">
      <h1 id="find-title">{t("find.title")}</h1>
      {notice ? (
        <p className="notice" role="status">
          {notice === "expired" ? t("hold.expired") : notice}
        </p>
      ) : null}
      <div className="filters">
        <label>
          {t("find.service")}
          <select value={serviceId} onChange={(e) => choose("service", e.target.value)}>
            {catalogue.services.map((s) => (
              <option key={s.id} value={s.id}>
                {s.name} · {money(s.price_cents, s.currency)}
              </option>
            ))}
          </select>
        </label>
        <label>
          {t("find.clinic")}
          <select value={clinicId} onChange={(e) => choose("clinic", e.target.value)}>
            <option value="">{t("find.anyClinic")}</option>
            {catalogue.clinics.map((c) => (
              <option key={c.id} value={c.id}>
                {c.name}
              </option>
            ))}
          </select>
        </label>
        <label>
          {t("find.practitioner")}
          <select value={practitionerId} onChange={(e) => choose("practitioner", e.target.value)}>
            <option value="">{t("find.anyPractitioner")}</option>
            {practitioners.map((p) => (
              <option key={p.id} value={p.id}>
                {practitionerName(p)}
              </option>
            ))}
          </select>
        </label>
      </div>
      {service ? (
        <p className="service-terms">
          {service.description}{" "}
          <strong>
            {service.online_payment === "none"
              ? t("find.payAtClinic")
              : t("find.payOnline", {
                  amount: money(
                    service.online_payment === "deposit"
                      ? service.deposit_cents
                      : service.price_cents,
                    service.currency,
                  ),
                })}
          </strong>
        </p>
      ) : null}
      {clinic ? (
        <div className="clinic-address">
          <p>
            {clinic.address}, Singapore {clinic.postal_code} · {clinic.phone}
          </p>
          <OpeningHours hours={clinic.opening_hours} />
        </div>
      ) : null}
      <DateStrip
        days={days}
        selected={day}
        onSelect={(d) => choose("day", d)}
        label={t("find.day")}
      />
      <h2>{t("find.times", { day: dayLabel(day, "long") })}</h2>
      <p className="live-note" aria-live="polite">
        {live === "live" ? t("find.live") : ""}
      </p>
      {!isPatient(session) ? <p className="hint">{t("find.signInFirst")}</p> : null}
      <ProblemMessage error={problem ?? searchProblem} />
      {slots === null ? (
        <p aria-busy="true">{t("find.loading")}</p>
      ) : (
        <SlotPicker
          slots={slots}
          timeZone={(slot) => catalogue.clinic(slot.clinic_id)?.timezone ?? "Asia/Singapore"}
          label={describe}
          detail={detail}
          onPick={pick}
          disabled={busy}
        />
      )}
    </section>
  );
}
