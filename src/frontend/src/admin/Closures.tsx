// The chosen clinic's closed days from today, public holidays included: close a day or a period
// (listing the booked appointments on those days, which stay booked), open a day again.
import { useCallback } from "react";
import { api, unwrap, type Schemas } from "../api/client";
import { clinicToday } from "../catalogue";
import { ProblemMessage } from "../components/ProblemMessage";
import { t } from "../i18n";
import "./messages";
import { mayEverywhere } from "./access";
import { useAdmin } from "./context";
import { TextField, useDraft, type Errors } from "./fields";
import * as panels from "./panels";
import { dateLabel } from "./time";

type Closure = Schemas["ClosureOut"];
type Mode = { kind: "create" } | { kind: "delete"; closure: Closure };

export interface ClosureDraft {
  first_day: string;
  last_day: string;
  reason: string;
}

// The API closes at most this many days at a time.
const MAX_DAYS = 366;

export function validateClosure(draft: ClosureDraft): Errors<keyof ClosureDraft> {
  const errors: Errors<keyof ClosureDraft> = {};
  if (!draft.first_day) errors.first_day = t("admin.form.required");
  if (draft.last_day && draft.first_day) {
    const days = (Date.parse(draft.last_day) - Date.parse(draft.first_day)) / 86_400_000 + 1;
    if (days < 1) errors.last_day = t("admin.closures.lastBeforeFirst");
    else if (days > MAX_DAYS) errors.last_day = t("admin.closures.tooLong", { days: MAX_DAYS });
  }
  if (!draft.reason.trim()) errors.reason = t("admin.form.required");
  return errors;
}

export function Closures() {
  const { clinic, grants } = useAdmin();
  const page = panels.usePage<Mode>();
  const clinicId = clinic?.id;
  const timeZone = clinic?.timezone;
  const load = useCallback(async () => {
    if (!clinicId) return [];
    return unwrap(
      await api.GET("/api/v1/admin/clinics/{clinic_id}/closures", {
        params: { path: { clinic_id: clinicId }, query: { from: clinicToday(timeZone) } },
      }),
    );
  }, [clinicId, timeZone]);
  const { data: closures, error, reload } = panels.useLoaded(load);
  // A public holiday closes every clinic: only someone who manages them all may open it again.
  const mayOpenHolidays = mayEverywhere(grants, "clinic.manage");

  if (!clinic) return <p>{t("admin.noClinic")}</p>;
  const { mode, change } = page;

  const create = (draft: ClosureDraft) =>
    change.run(async () => {
      const changed = unwrap(
        await api.POST("/api/v1/admin/clinics/{clinic_id}/closures", {
          params: { path: { clinic_id: clinic.id } },
          body: {
            first_day: draft.first_day,
            last_day: draft.last_day || null,
            reason: draft.reason.trim(),
          },
        }),
      );
      const last = draft.last_day && draft.last_day !== draft.first_day ? draft.last_day : null;
      page.finish({
        message: last
          ? t("admin.closures.savedPeriod", {
              clinic: clinic.name,
              first: dateLabel(draft.first_day),
              last: dateLabel(last),
            })
          : t("admin.closures.saved", { clinic: clinic.name, day: dateLabel(draft.first_day) }),
        conflicts: changed.conflicts,
      });
      await reload();
    });

  const remove = (closure: Closure) =>
    change.run(async () => {
      unwrap(
        await api.DELETE("/api/v1/admin/closures/{closure_id}", {
          params: { path: { closure_id: closure.id } },
        }),
      );
      page.finish({ message: t("admin.closures.removed", { day: dateLabel(closure.day) }) });
      await reload();
    });

  const title = t("admin.closures.title", { clinic: clinic.name });
  return (
    <panels.AdminPage
      title={title}
      outcome={page.outcome}
      add={{
        label: t("admin.closures.add"),
        onClick: () => page.open({ kind: "create" }),
      }}
    >
      {mode?.kind === "create" ? (
        <ClosureForm
          title={t("admin.closures.addTitle", { clinic: clinic.name })}
          busy={change.busy}
          problem={change.problem}
          onSave={(draft) => void create(draft)}
          onCancel={() => page.close(panels.ADD_BUTTON)}
        />
      ) : null}
      {mode?.kind === "delete" ? (
        <panels.ConfirmPanel
          question={t("admin.closures.deleteQuestion", { day: dateLabel(mode.closure.day) })}
          detail={t("admin.closures.deleteDetail")}
          confirmLabel={t("admin.closures.open")}
          problem={change.problem}
          onConfirm={() => void remove(mode.closure)}
          onCancel={() => page.close(panels.ADD_BUTTON)}
        />
      ) : null}
      <ProblemMessage error={error} />
      <panels.AdminTable
        caption={title}
        rows={closures}
        empty={t("admin.closures.none")}
        columns={[
          t("admin.closures.day"),
          t("admin.closures.kind"),
          t("admin.closures.reason"),
          t("admin.actions"),
        ]}
      >
        {(closure) => (
          <tr key={closure.id}>
            <th scope="row">{dateLabel(closure.day)}</th>
            <td>{t(`admin.closures.kind.${closure.kind}`)}</td>
            <td>{closure.reason}</td>
            <td>
              {closure.kind === "closure" || mayOpenHolidays ? (
                <button
                  type="button"
                  aria-label={t("admin.closures.openNamed", { day: dateLabel(closure.day) })}
                  onClick={() => page.open({ kind: "delete", closure })}
                >
                  {t("admin.closures.open")}
                </button>
              ) : null}
            </td>
          </tr>
        )}
      </panels.AdminTable>
    </panels.AdminPage>
  );
}

function ClosureForm({ onSave, ...panel }: panels.DraftFormProps<ClosureDraft>) {
  const { draft, bind, check, form } = useDraft<ClosureDraft>(
    { first_day: "", last_day: "", reason: "" },
    validateClosure,
  );
  return (
    <panels.FormPanel
      {...panel}
      submitLabel={t("admin.closures.create")}
      form={form}
      onSubmit={() => check() && onSave(draft)}
    >
      <TextField label={t("admin.closures.firstDay")} type="date" required {...bind("first_day")} />
      <TextField
        label={t("admin.closures.lastDay")}
        hint={t("admin.closures.lastDayHint")}
        type="date"
        {...bind("last_day")}
      />
      <TextField label={t("admin.closures.reason")} required maxLength={200} {...bind("reason")} />
    </panels.FormPanel>
  );
}
