import { render, screen, within } from "@testing-library/react";
import { describe, expect, it, vi } from "vitest";
import { ConflictsList, periodsToRead, type Conflict, type PatientSummary } from "./Conflicts";

const conflict = (id: string, start: string, clinic = "clinic-1"): Conflict => ({
  appointment_id: id,
  clinic_id: clinic,
  practitioner_id: "doc-1",
  service_id: "svc-1",
  start,
  end: start.replace(
    /T(\d\d)/,
    (_, hour: string) => `T${String(Number(hour) + 1).padStart(2, "0")}`,
  ),
});

const names = {
  practitioner: (id: string) => (id === "doc-1" ? "Dr Tan Wei" : ""),
  service: (id: string | null) => (id === "svc-1" ? "GP consultation" : ""),
  clinic: (id: string) =>
    id === "clinic-1"
      ? { name: "Medical Inc. Tampines", timezone: "Asia/Singapore" }
      : { name: "Medical Inc. Jurong", timezone: "Asia/Singapore" },
};

const patient = (name: string, phone: string): PatientSummary => ({
  id: `p-${name}`,
  full_name: name,
  phone,
  nric_masked: null,
});

describe("the conflicts list", () => {
  it("names each appointment to move, earliest first, with who to call", async () => {
    const later = conflict("appt-2", "2026-12-02T14:00:00+08:00");
    const earlier = conflict("appt-1", "2026-12-01T09:30:00+08:00");
    const load = vi.fn(async () => new Map([["appt-1", patient("Lim Ah Hock", "+6591234567")]]));
    render(<ConflictsList conflicts={[later, earlier]} names={names} load={load} />);

    expect(screen.getByText("2 booked appointments are now outside working time.")).toBeVisible();
    const rows = within(screen.getByRole("table")).getAllByRole("row").slice(1);
    expect(rows).toHaveLength(2);
    const [first = document.body] = rows;
    expect(rows[0]).toHaveTextContent("1 Dec 2026");
    expect(rows[0]).toHaveTextContent("9:30");
    expect(rows[0]).toHaveTextContent("Dr Tan Wei");
    expect(rows[0]).toHaveTextContent("GP consultation");
    expect(rows[1]).toHaveTextContent("2 Dec 2026");
    // Who to call arrives from the desk's view of those days.
    expect(await within(first).findByText("Lim Ah Hock")).toBeVisible();
    expect(within(first).getByRole("link", { name: "+6591234567" })).toHaveAttribute(
      "href",
      "tel:+6591234567",
    );
    expect(rows[1]).toHaveTextContent("See the desk's day");
    expect(load).toHaveBeenCalledTimes(1);
  });

  it("says one appointment in the singular, and shows nothing at all for none", () => {
    const load = vi.fn(async () => new Map<string, PatientSummary>());
    const { rerender } = render(
      <ConflictsList
        conflicts={[conflict("appt-1", "2026-12-01T09:30:00+08:00")]}
        names={names}
        load={load}
      />,
    );
    expect(screen.getByText("1 booked appointment is now outside working time.")).toBeVisible();
    rerender(<ConflictsList conflicts={[]} names={names} load={load} />);
    expect(screen.queryByRole("table")).toBeNull();
    expect(load).toHaveBeenCalledTimes(1);
  });

  it("reads the desk's view in periods of at most 14 days per clinic, covering every day", () => {
    const periods = periodsToRead([
      conflict("a", "2026-12-01T09:00:00+08:00"),
      conflict("b", "2026-12-14T09:00:00+08:00"),
      conflict("c", "2026-12-15T09:00:00+08:00"),
      conflict("d", "2026-12-03T09:00:00+08:00", "clinic-2"),
      conflict("e", "2026-12-01T23:30:00+08:00"), // the same local day as "a"
    ]);
    expect(periods).toEqual([
      { clinic_id: "clinic-1", from: "2026-12-01", to: "2026-12-14" },
      { clinic_id: "clinic-1", from: "2026-12-15", to: "2026-12-15" },
      { clinic_id: "clinic-2", from: "2026-12-03", to: "2026-12-03" },
    ]);
  });
});
