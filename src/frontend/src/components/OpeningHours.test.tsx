import { describe, expect, it } from "vitest";
import { describeHours } from "./OpeningHours";

describe("opening hours in words", () => {
  it("groups days with the same hours and says when a day is closed", () => {
    const weekday = [0, 1, 2, 3, 4].map((weekday) => ({
      weekday,
      opens: "08:00:00",
      closes: "21:00:00",
    }));
    const saturday = [
      { weekday: 5, opens: "08:30:00", closes: "12:30:00" },
      { weekday: 5, opens: "14:00:00", closes: "17:00:00" },
    ];
    expect(describeHours([...weekday, ...saturday])).toEqual([
      "Mon–Fri 8:00 am–9:00 pm",
      "Sat 8:30 am–12:30 pm, 2:00 pm–5:00 pm",
      "Sun Closed",
    ]);
  });

  it("says closed for a clinic with no hours at all", () => {
    expect(describeHours([])).toEqual(["Mon–Sun Closed"]);
  });
});
