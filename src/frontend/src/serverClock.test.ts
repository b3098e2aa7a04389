import { describe, expect, it } from "vitest";
import { localDeadline, serverOffset } from "./serverClock";

const answer = (date: string | null) => new Response(null, { headers: date ? { date } : {} });

describe("the server's clock", () => {
  it("never promises more time than the hold has, whatever the phone's clock says", () => {
    // The phone is 90 s slow; the server's header says 10:00:00 (its clock: 10:00:00.000-.999).
    const phoneNow = Date.parse("2026-12-01T01:58:30.400Z");
    const offset = serverOffset(answer("Tue, 01 Dec 2026 02:00:00 GMT"), phoneNow);
    const expiresAt = "2026-12-01T02:05:00Z"; // 300 s after the hold was taken at 10:00:00
    const left = localDeadline(expiresAt, offset) - phoneNow;
    expect(left).toBeLessThanOrEqual(300_000);
    expect(left).toBeGreaterThanOrEqual(299_000);
  });

  it("trusts the phone when the server gives no date", () => {
    expect(serverOffset(answer(null), 123)).toBe(0);
  });
});
