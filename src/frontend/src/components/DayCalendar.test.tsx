import { render, screen, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { describe, expect, it } from "vitest";
import { DayCalendar, minutesOfDay, rowsFor, type CalendarItem } from "./DayCalendar";

const item = (
  id: string,
  practitioner: string,
  start: string,
  end: string,
  status = "confirmed",
): CalendarItem => ({
  id,
  practitioner_id: practitioner,
  start,
  end,
  status,
  kind: "appointment",
  title: `Patient ${id}`,
});

describe("the desk's day calendar", () => {
  it("puts each booking in its practitioner's column at its time", () => {
    render(
      <DayCalendar
        label="Tampines, Tuesday"
        timeZone="Asia/Singapore"
        columns={[
          { id: "doc-1", name: "Dr One" },
          { id: "doc-2", name: "Dr Two" },
        ]}
        items={[
          item("a", "doc-2", "2026-12-01T01:00:00Z", "2026-12-01T01:30:00Z"),
          item("b", "doc-1", "2026-12-01T03:15:00Z", "2026-12-01T03:30:00Z", "held"),
          item("c", "doc-1", "2026-12-01T04:00:00Z", "2026-12-01T04:15:00Z", "cancelled"),
        ]}
      />,
    );
    const region = screen.getByRole("region", { name: "Tampines, Tuesday" });
    const a = within(region).getByRole("button", { name: /Patient a/ });
    expect(a.style.gridColumn).toBe("3");
    expect(a.style.gridRow).toBe("6 / 8"); // 09:00-09:30 with the day starting at 08:00
    expect(a).toHaveTextContent("9:00");
    const b = within(region).getByRole("button", { name: /Patient b/ });
    expect(b.style.gridColumn).toBe("2");
    expect(b).toHaveClass("booking-held");
    expect(within(region).queryByRole("button", { name: /Patient c/ })).toBeNull();
  });

  it("hands back the booking chosen, and marks it chosen", async () => {
    const chosen: string[] = [];
    const { rerender } = render(
      <DayCalendar
        label="Day"
        timeZone="Asia/Singapore"
        columns={[{ id: "doc-1", name: "Dr One" }]}
        items={[item("a", "doc-1", "2026-12-01T01:00:00Z", "2026-12-01T01:30:00Z")]}
        onSelect={(picked) => chosen.push(picked.id)}
      />,
    );
    await userEvent.setup().click(screen.getByRole("button", { name: /Patient a/ }));
    expect(chosen).toEqual(["a"]);
    rerender(
      <DayCalendar
        label="Day"
        timeZone="Asia/Singapore"
        columns={[{ id: "doc-1", name: "Dr One" }]}
        items={[item("a", "doc-1", "2026-12-01T01:00:00Z", "2026-12-01T01:30:00Z")]}
        selected="a"
      />,
    );
    expect(screen.getByRole("button", { name: /Patient a/ })).toHaveAttribute(
      "aria-pressed",
      "true",
    );
  });

  it("measures time in the clinic's zone and keeps bookings inside the visible day", () => {
    expect(minutesOfDay("2026-12-01T01:30:00Z", "Asia/Singapore")).toBe(9 * 60 + 30);
    expect(minutesOfDay("2026-12-01T01:30:00Z", "UTC")).toBe(90);
    const early = { start: "2026-11-30T23:00:00Z", end: "2026-12-01T00:30:00Z" }; // 07:00-08:30
    expect(rowsFor(early, "Asia/Singapore", 8, 20)).toEqual({ first: 2, last: 4 });
    const short = { start: "2026-12-01T02:00:00Z", end: "2026-12-01T02:05:00Z" };
    expect(rowsFor(short, "Asia/Singapore", 8, 20)).toEqual({ first: 10, last: 11 });
  });
});
