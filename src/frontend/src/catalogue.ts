// What the clinics offer (clinics, services, practitioners): loaded once, shared by pages.
import { useEffect, useState } from "react";
import { api, unwrap, type Schemas } from "./api/client";

export type Clinic = Schemas["ClinicOut"];
export type Service = Schemas["ServiceOut"];
export type Practitioner = Schemas["PractitionerOut"];

export interface Catalogue {
  clinics: Clinic[];
  services: Service[];
  practitioners: Practitioner[];
  clinic: (id: string) => Clinic | undefined;
  service: (id: string | null | undefined) => Service | undefined;
  practitioner: (id: string) => Practitioner | undefined;
}

let loaded: Promise<Catalogue> | null = null;

async function load(): Promise<Catalogue> {
  const [clinics, services, practitioners] = await Promise.all([
    api.GET("/api/v1/clinics").then(unwrap),
    api.GET("/api/v1/services").then(unwrap),
    api.GET("/api/v1/practitioners").then(unwrap),
  ]);
  return {
    clinics,
    services,
    practitioners,
    clinic: (id) => clinics.find((c) => c.id === id),
    service: (id) => services.find((s) => s.id === id),
    practitioner: (id) => practitioners.find((p) => p.id === id),
  };
}

export function useCatalogue(): { catalogue: Catalogue | null; error: unknown } {
  const [catalogue, setCatalogue] = useState<Catalogue | null>(null);
  const [error, setError] = useState<unknown>(null);
  useEffect(() => {
    loaded ??= load();
    loaded.then(setCatalogue, (problem: unknown) => {
      loaded = null;
      setError(problem);
    });
  }, []);
  return { catalogue, error };
}

export function practitionerName(practitioner: Practitioner | undefined): string {
  return practitioner ? `${practitioner.title} ${practitioner.full_name}` : "";
}

/** Today's date where the clinics are (Singapore), as YYYY-MM-DD. */
export function clinicToday(timeZone = "Asia/Singapore", now = new Date()): string {
  return new Intl.DateTimeFormat("en-CA", { timeZone }).format(now);
}
