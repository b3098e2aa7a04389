// Choosing roles and where they apply, offering only what the signed-in member may hand out:
// an administrator of every clinic any role anywhere, a clinic manager the desk's roles at
// their own clinics.
import { useId } from "react";
import type { Clinic } from "../catalogue";
import { t } from "../i18n";
import "./messages";
import { grantableRoles, mayGrant, type Grant, type Role } from "./access";
import { SelectField, type Choice } from "./fields";

/** A role being chosen; clinic "" stands for every clinic. */
export interface GrantDraft {
  role: Role;
  clinic: string;
}

export const EVERY_CLINIC = "";

export function grantOf(draft: GrantDraft): { role: Role; clinic_id: string | null } {
  return { role: draft.role, clinic_id: draft.clinic === EVERY_CLINIC ? null : draft.clinic };
}

/** Where they may give this role: every clinic ("") first when they may, then each clinic. */
export function clinicChoices(
  own: readonly Grant[],
  role: Role,
  clinics: readonly Clinic[],
): Choice[] {
  const choices: Choice[] = [];
  if (mayGrant(own, { role, clinic_id: null })) {
    choices.push({ value: EVERY_CLINIC, label: t("admin.staff.everyClinic") });
  }
  for (const clinic of clinics) {
    if (mayGrant(own, { role, clinic_id: clinic.id })) {
      choices.push({ value: clinic.id, label: clinic.name });
    }
  }
  return choices;
}

/** The first role they may give, at the first place they may give it. */
export function firstDraft(own: readonly Grant[], clinics: readonly Clinic[]): GrantDraft | null {
  const role = grantableRoles(own)[0];
  if (!role) return null;
  const clinic = clinicChoices(own, role, clinics)[0];
  return clinic ? { role, clinic: clinic.value } : null;
}

export function roleLabel(role: string): string {
  return t(`admin.role.${role as Role}`);
}

export function grantLabel(grant: Grant, clinics: readonly Clinic[]): string {
  const role = roleLabel(grant.role);
  if (grant.clinic_id === null) return t("admin.staff.grantEverywhere", { role });
  const clinic = clinics.find((c) => c.id === grant.clinic_id)?.name ?? grant.clinic_id;
  return t("admin.staff.grant", { role, clinic });
}

/** What is wrong with a list of roles: none chosen, or one chosen twice. */
export function grantsProblem(drafts: readonly GrantDraft[]): string | undefined {
  if (drafts.length === 0) return t("admin.staff.rolesRequired");
  const seen = new Set(drafts.map((d) => `${d.role}@${d.clinic}`));
  if (seen.size !== drafts.length) return t("admin.staff.rolesTwice");
  return undefined;
}

/** One role and where it applies. */
export function GrantPicker({
  own,
  clinics,
  value,
  onChange,
}: {
  own: readonly Grant[];
  clinics: readonly Clinic[];
  value: GrantDraft;
  onChange: (value: GrantDraft) => void;
}) {
  const roles = grantableRoles(own).map((role) => ({ value: role, label: roleLabel(role) }));
  const places = clinicChoices(own, value.role, clinics);
  return (
    <>
      <SelectField
        label={t("admin.staff.role")}
        required
        value={value.role}
        choices={roles}
        onChange={(role) => {
          const allowed = clinicChoices(own, role as Role, clinics);
          const keep = allowed.some((c) => c.value === value.clinic);
          onChange({ role: role as Role, clinic: keep ? value.clinic : (allowed[0]?.value ?? "") });
        }}
      />
      <SelectField
        label={t("admin.staff.where")}
        required
        value={value.clinic}
        choices={places}
        onChange={(clinic) => onChange({ ...value, clinic })}
      />
    </>
  );
}

/** The roles of a new account: one or more, each with its own remove button. */
export function GrantEditor({
  own,
  clinics,
  value,
  onChange,
  error,
}: {
  own: readonly Grant[];
  clinics: readonly Clinic[];
  value: readonly GrantDraft[];
  onChange: (value: GrantDraft[]) => void;
  error?: string;
}) {
  const id = useId();
  const first = firstDraft(own, clinics);
  return (
    <fieldset
      className="admin-grants admin-wide"
      aria-describedby={error ? `${id}-error` : undefined}
    >
      <legend>{t("admin.staff.roles")}</legend>
      <ul>
        {value.map((draft, index) => (
          // Rows have no identity of their own but their place in the list.
          <li key={index} className="admin-grant-row">
            <GrantPicker
              own={own}
              clinics={clinics}
              value={draft}
              onChange={(changed) => onChange(value.map((d, n) => (n === index ? changed : d)))}
            />
            <button
              type="button"
              aria-label={t("admin.staff.removeRole", {
                grant: grantLabel(grantOf(draft), clinics),
              })}
              onClick={() => onChange(value.filter((_, n) => n !== index))}
            >
              {t("admin.staff.remove")}
            </button>
          </li>
        ))}
      </ul>
      {error ? (
        <p className="field-error" id={`${id}-error`} data-invalid tabIndex={-1}>
          {error}
        </p>
      ) : null}
      {first ? (
        <button type="button" onClick={() => onChange([...value, first])}>
          {t("admin.staff.addRole")}
        </button>
      ) : null}
    </fieldset>
  );
}
