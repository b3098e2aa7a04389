// Administration for clinic managers and administrators: practitioners, services and prices,
// weekly availability, time off, closures (clinic.manage) and staff accounts (staff.manage).
// Loaded only when a member of staff opens it. Each section is offered only to those whose
// grants allow it; the API checks again, and its refusals are shown as it words them.
import { useCallback, useEffect, useMemo, useState, type ComponentType } from "react";
import { Navigate, NavLink, Route, Routes, useLocation } from "react-router";
import { api, unwrap } from "../api/client";
import { useCatalogue, type Clinic } from "../catalogue";
import { ProblemMessage } from "../components/ProblemMessage";
import { t, type MessageKey } from "../i18n";
import "./messages";
import { isStaff, useSession } from "../session";
import { clinicsWith, mayAnywhere, type Permission } from "./access";
import { Availability } from "./Availability";
import { Closures } from "./Closures";
import {
  AdminContext,
  personName,
  type AdminState,
  type Person,
  type ServiceAdmin,
} from "./context";
import { Practitioners } from "./Practitioners";
import { Services } from "./Services";
import { Staff } from "./Staff";
import { TimeOff } from "./TimeOff";

interface Section {
  path: string;
  label: MessageKey;
  needs: Permission;
  perClinic: boolean;
  page: ComponentType;
}

// Clinic set-up, per clinic unless said otherwise; staff accounts need staff.manage.
const setUp = (
  path: string,
  label: MessageKey,
  page: ComponentType,
  perClinic = true,
): Section => ({
  path,
  label,
  page,
  perClinic,
  needs: "clinic.manage",
});

const SECTIONS: readonly Section[] = [
  setUp("practitioners", "admin.nav.practitioners", Practitioners),
  setUp("services", "admin.nav.services", Services, false),
  setUp("availability", "admin.nav.availability", Availability),
  setUp("time-off", "admin.nav.timeOff", TimeOff),
  setUp("closures", "admin.nav.closures", Closures),
  { path: "staff", label: "admin.nav.staff", needs: "staff.manage", perClinic: false, page: Staff },
];

export default function Admin() {
  const { session, loading } = useSession();
  const { catalogue, error } = useCatalogue();
  const grants = useMemo(() => session?.grants ?? [], [session]);
  const managesClinics = mayAnywhere(grants, "clinic.manage");
  const manageable = useMemo(() => {
    if (!catalogue) return [];
    const allowed = clinicsWith(grants, "clinic.manage");
    return allowed === "every"
      ? catalogue.clinics
      : catalogue.clinics.filter((clinic) => allowed.includes(clinic.id));
  }, [catalogue, grants]);
  const [clinicId, setClinicId] = useState("");
  const clinic = manageable.find((c) => c.id === clinicId) ?? manageable[0];

  const [services, setServices] = useState<ServiceAdmin[]>([]);
  const [listed, setListed] = useState<Person[]>([]);
  const [remembered, setRemembered] = useState<Person[]>([]);
  const [problem, setProblem] = useState<unknown>(null);

  const reloadServices = useCallback(async () => {
    if (!managesClinics) return;
    setServices(unwrap(await api.GET("/api/v1/admin/services")));
  }, [managesClinics]);

  // Every practitioner whose name a page may need: those they manage (inactive too) and the
  // active ones of every clinic (a practitioner may be given hours at a second clinic).
  const reloadPeople = useCallback(async () => {
    if (!managesClinics) return;
    const [managed, active] = await Promise.all([
      api.GET("/api/v1/admin/practitioners").then(unwrap),
      api.GET("/api/v1/practitioners").then(unwrap),
    ]);
    const byId = new Map<string, Person>();
    for (const person of [...active, ...managed]) byId.set(person.id, person);
    setListed([...byId.values()]);
  }, [managesClinics]);

  useEffect(() => {
    if (!isStaff(session)) return;
    Promise.all([reloadServices(), reloadPeople()]).catch(setProblem);
  }, [session, reloadServices, reloadPeople]);

  const people = useMemo(() => {
    const byId = new Map<string, Person>(remembered.map((p) => [p.id, p]));
    for (const person of listed) byId.set(person.id, person);
    return [...byId.values()].sort((a, b) => a.full_name.localeCompare(b.full_name));
  }, [listed, remembered]);

  // Pages re-render with this one anyway: a fresh value each time costs nothing.
  const state: AdminState | null =
    catalogue && session
      ? {
          grants,
          staffId: session.staff_id ?? null,
          clinics: catalogue.clinics,
          manageable,
          clinic,
          services,
          reloadServices,
          people,
          reloadPeople,
          remember: (person) => setRemembered((known) => [...known, person]),
          names: {
            practitioner: (id) => personName(people.find((p) => p.id === id)),
            service: (id) => services.find((s) => s.id === id)?.name ?? "",
            clinic: (id) => catalogue.clinic(id),
          },
        }
      : null;

  const location = useLocation();
  if (loading) return <p aria-busy="true">{t("find.loading")}</p>;
  if (!isStaff(session)) return <Navigate to="/staff/sign-in" replace />;
  if (error) return <ProblemMessage error={error} />;
  if (!state) return <p aria-busy="true">{t("find.loading")}</p>;

  const open = SECTIONS.filter((section) => mayAnywhere(grants, section.needs));
  const current = SECTIONS.find((section) =>
    location.pathname.startsWith(`/admin/${section.path}`),
  );
  return (
    <AdminContext.Provider value={state}>
      <section aria-labelledby="admin-title" className="admin">
        <h1 id="admin-title">{t("admin.title")}</h1>
        {open.length === 0 ? (
          <p>{t("admin.notAllowed")}</p>
        ) : (
          <>
            <nav aria-label={t("admin.nav.label")} className="admin-nav">
              <ul>
                {open.map((section) => (
                  <li key={section.path}>
                    <NavLink to={`/admin/${section.path}`}>{t(section.label)}</NavLink>
                  </li>
                ))}
              </ul>
            </nav>
            {current?.perClinic && clinic ? (
              <ClinicSwitcher clinics={manageable} clinic={clinic} onChoose={setClinicId} />
            ) : null}
            <ProblemMessage error={problem} />
            <Routes>
              <Route index element={<Navigate to={open[0]?.path ?? "staff"} replace />} />
              {open.map((section) => (
                <Route key={section.path} path={section.path} element={<section.page />} />
              ))}
              <Route path="*" element={<p>{t("admin.notAllowed")}</p>} />
            </Routes>
          </>
        )}
      </section>
    </AdminContext.Provider>
  );
}

function ClinicSwitcher({
  clinics,
  clinic,
  onChoose,
}: {
  clinics: readonly Clinic[];
  clinic: Clinic;
  onChoose: (id: string) => void;
}) {
  if (clinics.length === 1) {
    return <p className="admin-clinic">{t("admin.clinicOnly", { clinic: clinic.name })}</p>;
  }
  return (
    <div className="admin-clinic">
      <label>
        {t("admin.clinic")}
        <select value={clinic.id} onChange={(event) => onChoose(event.target.value)}>
          {clinics.map((c) => (
            <option key={c.id} value={c.id}>
              {c.name}
            </option>
          ))}
        </select>
      </label>
    </div>
  );
}
