import { render, screen } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { describe, expect, it, vi } from "vitest";
import { overlaps, SlotPicker, type Slot } from "./SlotPicker";

const slot = (start: string, practitioner = "doc-1"): Slot => ({
  clinic_id: "clinic-1",
  practitioner_id: practitioner,
  start,
  end: new Date(Date.parse(start) + 15 * 60_000).toISOString(),
});

const slots = [
  slot("2026-12-01T02:30:00Z"),
  slot("2026-12-01T01:00:00Z"),
  slot("2026-12-01T01:00:00Z", "doc-2"),
];

function picker(onPick = vi.fn(), shown = slots) {
  render(
    <SlotPicker
      slots={shown}
      timeZone={() => "Asia/Singapore"}
      label={(s) => `Book ${s.start} with ${s.practitioner_id}`}
      detail={(s) => (s.practitioner_id === "doc-2" ? "Dr Two" : null)}
      onPick={onPick}
    />,
  );
  return onPick;
}

describe("the slot picker", () => {
  it("lists the free times in order, in the clinic's time, each named in full", () => {
    picker();
    const buttons = screen.getAllByRole("button");
    expect(buttons.map((b) => b.getAttribute("aria-label"))).toEqual([
      "Book 2026-12-01T01:00:00Z with doc-1",
      "Book 2026-12-01T01:00:00Z with doc-2",
      "Book 2026-12-01T02:30:00Z with doc-1",
    ]);
    expect(buttons[0]).toHaveTextContent("9:00");
    expect(buttons[1]).toHaveTextContent("Dr Two");
  });

  it("hands back the slot chosen, by mouse or keyboard", async () => {
    const onPick = picker();
    const user = userEvent.setup();
    await user.tab(); // the first time, from the keyboard
    await user.keyboard("{Enter}");
    await user.click(screen.getByRole("button", { name: /02:30:00Z/ }));
    expect(onPick.mock.calls.map(([s]) => (s as Slot).start)).toEqual([
      "2026-12-01T01:00:00Z",
      "2026-12-01T02:30:00Z",
    ]);
  });

  it("says plainly when nothing is free", () => {
    picker(vi.fn(), []);
    expect(screen.getByText(/No free times on this day/)).toBeInTheDocument();
  });

  it("knows which slots a taken time covers: same practitioner, overlapping time only", () => {
    const nine = slot("2026-12-01T01:00:00Z");
    expect(overlaps(nine, "doc-1", "2026-12-01T00:50:00Z", "2026-12-01T01:05:00Z")).toBe(true);
    expect(overlaps(nine, "doc-1", "2026-12-01T01:15:00Z", "2026-12-01T01:30:00Z")).toBe(false);
    expect(overlaps(nine, "doc-2", "2026-12-01T00:50:00Z", "2026-12-01T01:05:00Z")).toBe(false);
  });
});
