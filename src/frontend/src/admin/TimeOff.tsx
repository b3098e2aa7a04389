// A practitioner's time off (they are away at every clinic): the periods still to come, add one
// (listing the booked appointments inside it, which stay booked), remove one.
import { useCallback, useState } from "react";
import { api, unwrap, type Schemas } from "../api/client";
import { ProblemMessage } from "../components/ProblemMessage";
import { t } from "../i18n";
import "./messages";
import { personName, useAdmin, type Person } from "./context";
import { SelectField, TextField, useDraft, type Errors } from "./fields";
import * as panels from "./panels";
import { dateTimeLabel, zonedIso } from "./time";

type Period = Schemas["TimeOffOut"];
type Mode = { kind: "create" } | { kind: "delete"; period: Period };

export interface TimeOffDraft {
  starts_at: string;
  ends_at: string;
  reason: string;
}

export function validateTimeOff(draft: TimeOffDraft): Errors<keyof TimeOffDraft> {
  const errors: Errors<keyof TimeOffDraft> = {};
  if (!draft.starts_at) errors.starts_at = t("admin.form.required");
  if (!draft.ends_at) errors.ends_at = t("admin.form.required");
  else if (draft.starts_at && draft.ends_at <= draft.starts_at) {
    errors.ends_at = t("admin.timeOff.endBeforeStart");
  }
  return errors;
}

export function TimeOff() {
  const { clinic } = useAdmin();
  const [practitionerId, setPractitionerId] = useState("");
  const page = panels.usePage<Mode>();
  const clinicId = clinic?.id;
  const loadPractitioners = useCallback(async () => {
    if (!clinicId) return [];
    return unwrap(
      await api.GET("/api/v1/admin/practitioners", { params: { query: { clinic_id: clinicId } } }),
    );
  }, [clinicId]);
  const { data: practitioners, error: listError } = panels.useLoaded(loadPractitioners);
  const practitioner =
    practitioners?.find((p) => p.id === practitionerId) ?? practitioners?.[0] ?? undefined;

  const chosenId = practitioner?.id;
  const loadPeriods = useCallback(async () => {
    if (!chosenId) return [];
    return unwrap(
      await api.GET("/api/v1/admin/practitioners/{practitioner_id}/time-off", {
        params: {
          path: { practitioner_id: chosenId },
          query: { ending_after: new Date().toISOString() },
        },
      }),
    );
  }, [chosenId]);
  const { data: periods, error, reload } = panels.useLoaded(loadPeriods);

  if (!clinic) return <p>{t("admin.noClinic")}</p>;
  const { mode, change } = page;
  const timeZone = clinic.timezone;
  const when = (period: Period) =>
    t("admin.timeOff.period", {
      from: dateTimeLabel(period.starts_at, timeZone),
      to: dateTimeLabel(period.ends_at, timeZone),
    });

  const create = (away: Person, draft: TimeOffDraft) =>
    change.run(async () => {
      const changed = unwrap(
        await api.POST("/api/v1/admin/practitioners/{practitioner_id}/time-off", {
          params: { path: { practitioner_id: away.id } },
          body: {
            starts_at: zonedIso(draft.starts_at, timeZone),
            ends_at: zonedIso(draft.ends_at, timeZone),
            reason: draft.reason.trim(),
          },
        }),
      );
      page.finish({
        message: t("admin.timeOff.saved", {
          name: personName(away),
          period: when(changed.time_off),
        }),
        conflicts: changed.conflicts,
      });
      await reload();
    });

  const remove = (period: Period) =>
    change.run(async () => {
      unwrap(
        await api.DELETE("/api/v1/admin/time-off/{time_off_id}", {
          params: { path: { time_off_id: period.id } },
        }),
      );
      page.finish({ message: t("admin.timeOff.removed", { period: when(period) }) });
      await reload();
    });

  return (
    <panels.AdminPage
      title={t("admin.timeOff.title", { clinic: clinic.name })}
      outcome={page.outcome}
      intro={<p className="hint">{t("admin.timeOff.intro")}</p>}
      tools={
        practitioner && practitioners ? (
          <SelectField
            label={t("admin.timeOff.practitioner")}
            value={practitioner.id}
            onChange={(value) => {
              setPractitionerId(value);
              page.reset();
            }}
            choices={practitioners.map((p) => ({ value: p.id, label: personName(p) }))}
          />
        ) : null
      }
      add={
        practitioner
          ? {
              label: t("admin.timeOff.add"),
              onClick: () => page.open({ kind: "create" }),
            }
          : undefined
      }
    >
      <ProblemMessage error={listError} />
      {practitioners === null ? (
        <p aria-busy="true">{t("admin.loading")}</p>
      ) : !practitioner ? (
        <p className="empty">{t("admin.practitioners.none")}</p>
      ) : (
        <>
          {mode?.kind === "create" ? (
            <TimeOffForm
              title={t("admin.timeOff.addTitle", { name: personName(practitioner) })}
              busy={change.busy}
              problem={change.problem}
              onSave={(draft) => void create(practitioner, draft)}
              onCancel={() => page.close(panels.ADD_BUTTON)}
            />
          ) : null}
          {mode?.kind === "delete" ? (
            <panels.ConfirmPanel
              question={t("admin.timeOff.deleteQuestion", { period: when(mode.period) })}
              confirmLabel={t("admin.delete")}
              problem={change.problem}
              onConfirm={() => void remove(mode.period)}
              onCancel={() => page.close(panels.ADD_BUTTON)}
            />
          ) : null}
          <ProblemMessage error={error} />
          <panels.AdminTable
            caption={t("admin.timeOff.caption", { name: personName(practitioner) })}
            rows={periods}
            empty={t("admin.timeOff.none", { name: personName(practitioner) })}
            columns={[
              t("admin.timeOff.from"),
              t("admin.timeOff.until"),
              t("admin.timeOff.reason"),
              t("admin.actions"),
            ]}
          >
            {(period) => (
              <tr key={period.id}>
                <td>{dateTimeLabel(period.starts_at, timeZone)}</td>
                <td>{dateTimeLabel(period.ends_at, timeZone)}</td>
                <td>{period.reason}</td>
                <td>
                  <button
                    type="button"
                    aria-label={t("admin.deleteNamed", { name: when(period) })}
                    onClick={() => page.open({ kind: "delete", period })}
                  >
                    {t("admin.delete")}
                  </button>
                </td>
              </tr>
            )}
          </panels.AdminTable>
        </>
      )}
    </panels.AdminPage>
  );
}

function TimeOffForm({ onSave, ...panel }: panels.DraftFormProps<TimeOffDraft>) {
  const { draft, bind, check, form } = useDraft<TimeOffDraft>(
    { starts_at: "", ends_at: "", reason: "" },
    validateTimeOff,
  );
  return (
    <panels.FormPanel
      {...panel}
      submitLabel={t("admin.timeOff.create")}
      form={form}
      onSubmit={() => check() && onSave(draft)}
    >
      <TextField
        label={t("admin.timeOff.from")}
        type="datetime-local"
        required
        {...bind("starts_at")}
      />
      <TextField
        label={t("admin.timeOff.until")}
        hint={t("admin.timeOff.untilHint")}
        type="datetime-local"
        required
        {...bind("ends_at")}
      />
      <TextField
        label={t("admin.timeOff.reason")}
        hint={t("admin.timeOff.reasonHint")}
        maxLength={200}
        {...bind("reason")}
      />
    </panels.FormPanel>
  );
}
