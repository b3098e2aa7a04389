// Practitioners at the chosen clinic: list (active, inactive or all), create, edit details and
// services, deactivate (showing the booked appointments that leaves to move) and reactivate.
import { useCallback, useState } from "react";
import { Link } from "react-router";
import { api, unwrap, type Schemas } from "../api/client";
import { ProblemMessage } from "../components/ProblemMessage";
import { t } from "../i18n";
import "./messages";
import { useAdmin, personName, type PractitionerAdmin, type ServiceAdmin } from "./context";
import { CheckboxField, SelectField, TextField, useDraft, type Errors } from "./fields";
import * as panels from "./panels";

type Status = "active" | "inactive" | "all";
type Mode =
  | { kind: "create" }
  | { kind: "edit"; practitioner: PractitionerAdmin }
  | { kind: "deactivate"; practitioner: PractitionerAdmin };

export interface PractitionerDraft {
  registration_number: string;
  title: string;
  full_name: string;
  profession: string;
  service_ids: string[];
  active: boolean;
}

const editButton = (id: string) => `edit-practitioner-${id}`;

/** What is wrong with a practitioner's details, field by field (the API's limits, mirrored). */
export function validatePractitioner(
  draft: PractitionerDraft,
  creating: boolean,
): Errors<keyof PractitionerDraft> {
  const errors: Errors<keyof PractitionerDraft> = {};
  if (creating && !/^[A-Za-z0-9]{2,16}$/.test(draft.registration_number.trim())) {
    errors.registration_number = t("admin.practitioner.registrationInvalid");
  }
  if (!draft.title.trim()) errors.title = t("admin.form.required");
  if (!draft.full_name.trim()) errors.full_name = t("admin.form.required");
  if (!draft.profession.trim()) errors.profession = t("admin.form.required");
  return errors;
}

export function Practitioners() {
  const { clinic, services, names, remember, reloadPeople } = useAdmin();
  const [status, setStatus] = useState<Status>("active");
  const page = panels.usePage<Mode>();
  const clinicId = clinic?.id;
  const load = useCallback(async () => {
    if (!clinicId) return [];
    const active = status === "all" ? undefined : status === "active";
    return unwrap(
      await api.GET("/api/v1/admin/practitioners", {
        params: { query: { clinic_id: clinicId, active } },
      }),
    );
  }, [clinicId, status]);
  const { data: practitioners, error, reload } = panels.useLoaded(load);

  if (!clinic) return <p>{t("admin.noClinic")}</p>;
  const { mode, change } = page;
  const done = async (result: panels.Outcome) => {
    page.finish(result);
    await Promise.all([reload(), reloadPeople()]);
  };

  const create = (draft: PractitionerDraft) =>
    change.run(async () => {
      const created = unwrap(
        await api.POST("/api/v1/admin/practitioners", {
          body: {
            ...draft,
            registration_number: draft.registration_number.trim(),
            clinic_id: clinic.id,
          },
        }),
      );
      remember(created);
      await done({
        message: t("admin.practitioner.created", {
          name: personName(created),
          clinic: clinic.name,
        }),
        next: (
          <p>
            <Link to={`/admin/availability?practitioner=${created.id}&add=1`}>
              {t("admin.practitioner.addHours", { name: personName(created) })}
            </Link>
          </p>
        ),
      });
    });

  // Changes (and reactivation) by PATCH; deactivation by its own call. Both answer the
  // booked appointments the change leaves to move.
  const update = (practitioner: PractitionerAdmin, body: Schemas["PractitionerPatch"] | null) =>
    change.run(async () => {
      const path = { params: { path: { practitioner_id: practitioner.id } } };
      const changed = unwrap(
        body
          ? await api.PATCH("/api/v1/admin/practitioners/{practitioner_id}", { ...path, body })
          : await api.POST("/api/v1/admin/practitioners/{practitioner_id}/deactivate", path),
      );
      const name = personName(changed.practitioner);
      const message = !body
        ? t("admin.practitioner.deactivated", { name })
        : body.active && Object.keys(body).length === 1
          ? t("admin.practitioner.reactivated", { name })
          : t("admin.practitioner.saved", { name });
      await done({ message, conflicts: changed.conflicts });
    });

  const title = t("admin.practitioners.title", { clinic: clinic.name });
  return (
    <panels.AdminPage
      title={title}
      outcome={page.outcome}
      tools={
        <SelectField
          label={t("admin.practitioners.show")}
          value={status}
          onChange={(value) => setStatus(value as Status)}
          choices={[
            { value: "active", label: t("admin.status.activeOnly") },
            { value: "inactive", label: t("admin.status.inactiveOnly") },
            { value: "all", label: t("admin.status.all") },
          ]}
        />
      }
      add={{
        label: t("admin.practitioner.add"),
        onClick: () => page.open({ kind: "create" }),
      }}
    >
      {mode?.kind === "create" ? (
        <PractitionerForm
          title={t("admin.practitioner.addTitle", { clinic: clinic.name })}
          services={services}
          busy={change.busy}
          problem={change.problem}
          onSave={(draft) => void create(draft)}
          onCancel={() => page.close(panels.ADD_BUTTON)}
        />
      ) : null}
      {mode?.kind === "edit" ? (
        <PractitionerForm
          key={mode.practitioner.id}
          title={t("admin.practitioner.editTitle", { name: personName(mode.practitioner) })}
          initial={mode.practitioner}
          services={services}
          busy={change.busy}
          problem={change.problem}
          onSave={(draft) => void update(mode.practitioner, changesOf(mode.practitioner, draft))}
          onCancel={() => page.close(editButton(mode.practitioner.id))}
        />
      ) : null}
      {mode?.kind === "deactivate" ? (
        <panels.ConfirmPanel
          question={t("admin.practitioner.deactivateQuestion", {
            name: personName(mode.practitioner),
          })}
          detail={t("admin.practitioner.deactivateDetail")}
          confirmLabel={t("admin.practitioner.deactivate")}
          problem={change.problem}
          onConfirm={() => void update(mode.practitioner, null)}
          onCancel={() => page.close(editButton(mode.practitioner.id))}
        />
      ) : null}
      <ProblemMessage error={error ?? (mode ? null : change.problem)} />
      <panels.AdminTable
        caption={title}
        rows={practitioners}
        empty={t("admin.practitioners.none")}
        columns={[
          t("admin.practitioner.name"),
          t("admin.practitioner.registration"),
          t("admin.practitioner.profession"),
          t("admin.practitioner.services"),
          t("admin.practitioner.worksAt"),
          t("admin.status"),
          t("admin.actions"),
        ]}
      >
        {(practitioner) => {
          const name = personName(practitioner);
          return (
            <tr key={practitioner.id}>
              <th scope="row">{name}</th>
              <td>{practitioner.registration_number}</td>
              <td>{practitioner.profession}</td>
              <td>{practitioner.service_ids.map((id) => names.service(id)).join(", ")}</td>
              <td>
                {practitioner.clinic_ids.map((id) => names.clinic(id)?.name ?? "").join(", ")}
              </td>
              <td>{practitioner.active ? t("admin.status.active") : t("admin.status.inactive")}</td>
              <td>
                <div className="row-actions">
                  <button
                    type="button"
                    id={editButton(practitioner.id)}
                    aria-label={t("admin.editNamed", { name })}
                    onClick={() => page.open({ kind: "edit", practitioner })}
                  >
                    {t("admin.edit")}
                  </button>
                  {practitioner.active ? (
                    <button
                      type="button"
                      aria-label={t("admin.practitioner.deactivateNamed", { name })}
                      onClick={() => page.open({ kind: "deactivate", practitioner })}
                    >
                      {t("admin.practitioner.deactivate")}
                    </button>
                  ) : (
                    <button
                      type="button"
                      aria-label={t("admin.practitioner.reactivateNamed", { name })}
                      onClick={() => void update(practitioner, { active: true })}
                    >
                      {t("admin.practitioner.reactivate")}
                    </button>
                  )}
                </div>
              </td>
            </tr>
          );
        }}
      </panels.AdminTable>
    </panels.AdminPage>
  );
}

/** Only what changed, for PATCH. */
function changesOf(
  practitioner: PractitionerAdmin,
  draft: PractitionerDraft,
): Schemas["PractitionerPatch"] {
  const body: Schemas["PractitionerPatch"] = {};
  if (draft.title !== practitioner.title) body.title = draft.title;
  if (draft.full_name !== practitioner.full_name) body.full_name = draft.full_name;
  if (draft.profession !== practitioner.profession) body.profession = draft.profession;
  if (draft.active !== practitioner.active) body.active = draft.active;
  if (!sameSet(draft.service_ids, practitioner.service_ids)) body.service_ids = draft.service_ids;
  return body;
}

function sameSet(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((id) => b.includes(id));
}

export function PractitionerForm({
  initial,
  services,
  onSave,
  ...panel
}: panels.DraftFormProps<PractitionerDraft> & {
  initial?: PractitionerAdmin;
  services: readonly ServiceAdmin[];
}) {
  const { draft, set, bind, check, form } = useDraft<PractitionerDraft>(
    () => ({
      registration_number: initial?.registration_number ?? "",
      title: initial?.title ?? "Dr",
      full_name: initial?.full_name ?? "",
      profession: initial?.profession ?? "",
      service_ids: initial?.service_ids ?? [],
      active: initial?.active ?? true,
    }),
    (d) => validatePractitioner(d, !initial),
  );
  const toggle = (id: string, on: boolean) =>
    set(
      "service_ids",
      on ? [...draft.service_ids, id] : draft.service_ids.filter((known) => known !== id),
    );

  return (
    <panels.FormPanel
      {...panel}
      submitLabel={initial ? t("admin.save") : t("admin.practitioner.create")}
      form={form}
      onSubmit={() => check() && onSave(draft)}
    >
      {initial ? (
        <p className="admin-readonly">
          {t("admin.practitioner.registration")}: {initial.registration_number}
        </p>
      ) : (
        <TextField
          label={t("admin.practitioner.registration")}
          hint={t("admin.practitioner.registrationHint")}
          required
          maxLength={16}
          autoComplete="off"
          {...bind("registration_number")}
        />
      )}
      <TextField label={t("admin.practitioner.title")} required maxLength={20} {...bind("title")} />
      <TextField
        label={t("admin.practitioner.fullName")}
        required
        maxLength={200}
        autoComplete="off"
        {...bind("full_name")}
      />
      <TextField
        label={t("admin.practitioner.profession")}
        hint={t("admin.practitioner.professionHint")}
        required
        maxLength={40}
        {...bind("profession")}
      />
      <fieldset className="admin-wide">
        <legend>{t("admin.practitioner.services")}</legend>
        {services.map((service) => (
          <CheckboxField
            key={service.id}
            label={service.active ? service.name : t("admin.inactiveNamed", { name: service.name })}
            checked={draft.service_ids.includes(service.id)}
            onChange={(on) => toggle(service.id, on)}
          />
        ))}
      </fieldset>
      <CheckboxField
        label={t("admin.practitioner.activeLabel")}
        checked={draft.active}
        onChange={(on) => set("active", on)}
      />
    </panels.FormPanel>
  );
}
