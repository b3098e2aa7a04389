// What every administration page shares: the signed-in member's grants, the clinics they may
// set up (and the one chosen), every service, and the names of practitioners.
import { createContext, useContext } from "react";
import type { Schemas } from "../api/client";
import type { Clinic } from "../catalogue";
import type { Grant } from "./access";
import type { ConflictNames } from "./Conflicts";

export type ServiceAdmin = Schemas["ServiceAdminOut"];
export type PractitionerAdmin = Schemas["PractitionerAdminOut"];

/** A practitioner as a name: from the admin list, the public list, or one just created. */
export interface Person {
  id: string;
  title: string;
  full_name: string;
}

export interface AdminState {
  grants: readonly Grant[];
  staffId: string | null;
  clinics: readonly Clinic[];
  /** The clinics whose set-up they may change (clinic.manage). */
  manageable: readonly Clinic[];
  /** The clinic chosen in the switcher (one of `manageable`). */
  clinic: Clinic | undefined;
  services: readonly ServiceAdmin[];
  reloadServices: () => Promise<void>;
  people: readonly Person[];
  reloadPeople: () => Promise<void>;
  /** Keep a practitioner just created: no list shows them until they have weekly hours. */
  remember: (person: Person) => void;
  names: ConflictNames;
}

export const AdminContext = createContext<AdminState | null>(null);

export function useAdmin(): AdminState {
  const state = useContext(AdminContext);
  if (!state) throw new Error("useAdmin is for pages inside <Admin>");
  return state;
}

export function personName(person: Person | undefined): string {
  return person ? `${person.title} ${person.full_name}` : "";
}
