// Administration for clinic managers and administrators (clinic.manage): filled in by the
// admin pages. Loaded only when a member of staff opens it.
import { t } from "../i18n";

export default function Admin() {
  return (
    <section aria-labelledby="admin-title">
      <h1 id="admin-title">{t("admin.title")}</h1>
    </section>
  );
}
