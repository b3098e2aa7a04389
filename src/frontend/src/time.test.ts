import { describe, expect, it } from "vitest";
import { daysBetween, shiftDay, weekStart } from "./staff/useClinicDays";
import { atClinic, clinicNow, offsetOf } from "./time";

describe("clinic wall-clock times", () => {
  it("writes a local time at the clinic with the clinic's offset, whatever the browser's zone", () => {
    expect(atClinic("2026-12-01T10:00", "Asia/Singapore")).toBe("2026-12-01T10:00:00+08:00");
    expect(Date.parse(atClinic("2026-12-01T10:00", "Asia/Singapore"))).toBe(
      Date.parse("2026-12-01T02:00:00Z"),
    );
    expect(offsetOf("UTC", new Date("2026-12-01T00:00:00Z"))).toBe("+00:00");
    expect(offsetOf("Europe/London", new Date("2026-07-01T00:00:00Z"))).toBe("+01:00");
  });

  it("tells the time at the clinic to the minute", () => {
    expect(clinicNow("Asia/Singapore", new Date("2026-11-30T23:59:30Z"))).toBe("2026-12-01T07:59");
  });

  it("counts days and finds Mondays", () => {
    expect(shiftDay("2026-12-31", 1)).toBe("2027-01-01");
    expect(weekStart("2026-12-03")).toBe("2026-11-30"); // a Thursday's Monday
    expect(weekStart("2026-11-30")).toBe("2026-11-30");
    expect(weekStart("2026-12-06")).toBe("2026-11-30"); // Sunday belongs to the week before
    expect(daysBetween("2026-11-30", "2026-12-02")).toEqual([
      "2026-11-30",
      "2026-12-01",
      "2026-12-02",
    ]);
    expect(daysBetween("2026-12-02", "2026-11-30")).toEqual([]);
  });
});
