// The app's frame: a skip link, the header and navigation, and the pages.
import { lazy, Suspense } from "react";
import { Link, NavLink, Route, Routes } from "react-router";
import { api } from "./api/client";
import { t } from "./i18n";
import { Checkout } from "./patient/Checkout";
import { Confirmation } from "./patient/Confirmation";
import { FindSlot } from "./patient/FindSlot";
import { MyAppointments } from "./patient/MyAppointments";
import { PrivacyNotice } from "./patient/PrivacyNotice";
import { isStaff, useSession } from "./session";
import { StaffSignIn } from "./staff/SignIn";

// Staff pages are their own chunks: a patient's phone never downloads them.
const Dashboard = lazy(() => import("./staff/Dashboard"));
const Admin = lazy(() => import("./admin/Admin"));
const DaySheet = lazy(() => import("./staff/DaySheet"));
const Patients = lazy(() => import("./staff/Patients"));

export function App() {
  const { session, refresh } = useSession();
  const signOut = async () => {
    await api.POST("/api/v1/auth/sign-out");
    await refresh();
  };
  return (
    <>
      <a className="skip-link" href="#main">
        {t("nav.skip")}
      </a>
      <header className="top">
        <Link to="/" className="brand">
          {t("app.name")}
        </Link>
        <nav aria-label="Main">
          {isStaff(session) ? (
            <>
              <NavLink to="/staff" end>
                {t("nav.staff")}
              </NavLink>
              <NavLink to="/staff/patients">{t("nav.patients")}</NavLink>
              <NavLink to="/admin">{t("nav.admin")}</NavLink>
            </>
          ) : (
            <>
              <NavLink to="/" end>
                {t("nav.book")}
              </NavLink>
              <NavLink to="/me/appointments">{t("nav.myAppointments")}</NavLink>
            </>
          )}
          {session ? (
            <button type="button" className="link-button" onClick={() => void signOut()}>
              {t("nav.signOut")}
            </button>
          ) : null}
        </nav>
      </header>
      <main id="main" tabIndex={-1}>
        <Suspense fallback={<p aria-busy="true">{t("find.loading")}</p>}>
          <Routes>
            <Route path="/" element={<FindSlot />} />
            <Route path="/book/:holdId" element={<Checkout />} />
            <Route path="/book/:holdId/done" element={<Confirmation />} />
            <Route path="/me/appointments" element={<MyAppointments />} />
            <Route path="/privacy" element={<PrivacyNotice />} />
            <Route path="/staff" element={<Dashboard />} />
            <Route path="/staff/sign-in" element={<StaffSignIn />} />
            <Route path="/staff/day-sheet" element={<DaySheet />} />
            <Route path="/staff/patients" element={<Patients />} />
            <Route path="/admin/*" element={<Admin />} />
          </Routes>
        </Suspense>
      </main>
    </>
  );
}
