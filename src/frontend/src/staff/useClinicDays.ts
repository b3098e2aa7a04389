// A clinic's bookings and payments over some days, kept current by the staff feed: every change
// for those days makes one fresh read (at most every 150 ms), so the page always shows exactly
// what the database has.
import { useCallback, useRef } from "react";
import { api, unwrap, type Schemas } from "../api/client";
import { useLiveChanges, type LiveState } from "../realtime/useLiveChanges";
import { useKeyedRead } from "../useKeyedRead";

export type DeskAppointment = Schemas["DeskAppointmentOut"];
export type Payment = Schemas["PaymentOut"];

export interface ClinicDays {
  appointments: DeskAppointment[] | null;
  payments: Map<string, Payment>;
  problem: unknown;
  live: LiveState;
  reload: () => Promise<void>;
}

const NO_PAYMENTS = new Map<string, Payment>();

export function useClinicDays(clinicId: string | null, first: string, last: string): ClinicDays {
  const read = useCallback(
    async () => (clinicId ? readClinicDays(clinicId, first, last) : null),
    [clinicId, first, last],
  );
  const days = useKeyedRead(clinicId ? `${clinicId}|${first}|${last}` : null, read);
  const { reload } = days;

  const pending = useRef<ReturnType<typeof setTimeout> | undefined>(undefined);
  const onChange = useCallback(() => {
    clearTimeout(pending.current);
    pending.current = setTimeout(() => void reload(), 150);
  }, [reload]);
  const live = useLiveChanges(
    clinicId ? { channel: "staff", clinic_ids: [clinicId], from: first, to: last } : null,
    onChange,
  );

  return {
    appointments: days.value?.appointments ?? null,
    payments: days.value?.payments ?? NO_PAYMENTS,
    problem: days.problem,
    live,
    reload,
  };
}

async function readClinicDays(clinicId: string, first: string, last: string) {
  const booked = unwrap(
    await api.GET("/api/v1/staff/clinics/{clinic_id}/appointments", {
      params: { path: { clinic_id: clinicId }, query: { from: first, to: last } },
    }),
  );
  // Payments are listed per day; a week asks for each of its days at once.
  const paid = await Promise.all(
    daysBetween(first, last).map((day) =>
      api
        .GET("/api/v1/staff/clinics/{clinic_id}/payments", {
          params: { path: { clinic_id: clinicId }, query: { day } },
        })
        .then(unwrap),
    ),
  );
  const payments = new Map(
    paid
      .flat()
      .filter((payment) => payment.status !== "cancelled")
      .map((payment) => [payment.appointment_id, payment]),
  );
  return { appointments: booked.appointments, payments };
}

export function daysBetween(first: string, last: string): string[] {
  const days: string[] = [];
  const day = new Date(`${first}T00:00:00Z`);
  const end = new Date(`${last}T00:00:00Z`);
  while (day <= end && days.length < 31) {
    days.push(day.toISOString().slice(0, 10));
    day.setUTCDate(day.getUTCDate() + 1);
  }
  return days;
}

export function shiftDay(day: string, by: number): string {
  const date = new Date(`${day}T00:00:00Z`);
  date.setUTCDate(date.getUTCDate() + by);
  return date.toISOString().slice(0, 10);
}

/** The Monday of the week `day` is in. */
export function weekStart(day: string): string {
  const weekday = (new Date(`${day}T00:00:00Z`).getUTCDay() + 6) % 7;
  return shiftDay(day, -weekday);
}
