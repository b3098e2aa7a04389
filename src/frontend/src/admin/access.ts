// Who may do what in the administration pages: a mirror of the API's roles and permissions
// (identity/permissions.py, identity/staff.py), used only to show what a person can use.
// The API decides; a refusal it answers is shown as it says it.
import type { Schemas } from "../api/client";

export type Role = Schemas["Role"];
export interface Grant {
  role: string;
  clinic_id: string | null;
}

export type Permission = "clinic.manage" | "staff.manage";

export const ROLES: readonly Role[] = [
  "receptionist",
  "practitioner",
  "clinic_manager",
  "administrator",
  "data_protection_officer",
];

const PERMISSIONS: Record<string, readonly Permission[]> = {
  clinic_manager: ["clinic.manage", "staff.manage"],
  administrator: ["clinic.manage", "staff.manage"],
};

// Who may hand out which roles (staff.GRANTABLE_BY): a manager never one that outranks them.
const GRANTABLE_BY: Record<string, readonly Role[]> = {
  administrator: ROLES,
  clinic_manager: ["receptionist", "practitioner"],
};

function holds(grant: Grant, permission: Permission): boolean {
  return PERMISSIONS[grant.role]?.includes(permission) ?? false;
}

/** The clinics where they hold the permission: "every" for all of them. */
export function clinicsWith(grants: readonly Grant[], permission: Permission): "every" | string[] {
  const clinics: string[] = [];
  for (const grant of grants) {
    if (!holds(grant, permission)) continue;
    if (grant.clinic_id === null) return "every";
    if (!clinics.includes(grant.clinic_id)) clinics.push(grant.clinic_id);
  }
  return clinics;
}

export function mayAnywhere(grants: readonly Grant[], permission: Permission): boolean {
  const clinics = clinicsWith(grants, permission);
  return clinics === "every" || clinics.length > 0;
}

export function mayEverywhere(grants: readonly Grant[], permission: Permission): boolean {
  return clinicsWith(grants, permission) === "every";
}

/** Could they hand out this role at this clinic (null: at every clinic)? */
export function mayGrant(grants: readonly Grant[], wanted: Grant): boolean {
  return grants.some(
    (own) =>
      (GRANTABLE_BY[own.role] ?? []).includes(wanted.role as Role) &&
      (own.clinic_id === null || own.clinic_id === wanted.clinic_id),
  );
}

/** The roles they may hand out somewhere. */
export function grantableRoles(grants: readonly Grant[]): Role[] {
  return ROLES.filter((role) => grants.some((own) => GRANTABLE_BY[own.role]?.includes(role)));
}

/** May they act on an account with these grants (deactivate, reset, lift sign-in delays)? Only when they
 * could have made every one of them; an account without roles, only an administrator of all. */
export function hasAuthorityOver(grants: readonly Grant[], theirs: readonly Grant[]): boolean {
  if (theirs.length === 0) {
    return grants.some((own) => own.role === "administrator" && own.clinic_id === null);
  }
  return theirs.every((grant) => mayGrant(grants, grant));
}
