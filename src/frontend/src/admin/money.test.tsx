import { render, screen } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { describe, expect, it, vi } from "vitest";
import type { ServiceAdmin } from "./context";
import { centsToText, parseMoney } from "./money";
import { ServiceForm } from "./Services";

const consultation: ServiceAdmin = {
  id: "svc-1",
  code: "gp",
  name: "GP consultation",
  description: "",
  duration_minutes: 15,
  buffer_before_minutes: 0,
  buffer_after_minutes: 5,
  grid_minutes: 15,
  price_cents: 4500,
  deposit_cents: 1050,
  currency: "SGD",
  min_notice_minutes: 60,
  max_days_ahead: 60,
  cancellation_window_hours: 24,
  online_payment: "none",
  active: true,
};

function form(initial?: ServiceAdmin) {
  const onSave = vi.fn();
  render(
    <ServiceForm
      title="Service"
      initial={initial}
      busy={false}
      problem={null}
      onSave={onSave}
      onCancel={vi.fn()}
    />,
  );
  return onSave;
}

describe("money typed in dollars and cents", () => {
  it("becomes whole cents, whatever the usual ways of writing it", () => {
    expect(parseMoney("45")).toBe(4500);
    expect(parseMoney("45.5")).toBe(4550);
    expect(parseMoney("45.05")).toBe(4505);
    expect(parseMoney(" $1,234.99 ")).toBe(123499);
    expect(parseMoney(".5")).toBe(50);
    expect(parseMoney("0")).toBe(0);
  });

  it("is refused when it is not an amount of money", () => {
    for (const text of ["", "abc", "12.345", "-5", "1e3", "4.5.6", "$"]) {
      expect(parseMoney(text), text).toBeNull();
    }
  });

  it("shows cents as dollars and cents, with both decimals", () => {
    expect(centsToText(4500)).toBe("45.00");
    expect(centsToText(1050)).toBe("10.50");
    expect(centsToText(7)).toBe("0.07");
    expect(centsToText(0)).toBe("0.00");
  });

  it("in the service form: shows the price in dollars and sends it in cents", async () => {
    const onSave = form(consultation);
    const price = screen.getByLabelText(/^Price \(SGD\)/);
    expect(price).toHaveValue("45.00");
    expect(screen.getByLabelText(/^Deposit \(SGD\)/)).toHaveValue("10.50");
    const user = userEvent.setup();
    await user.clear(price);
    await user.type(price, "123.45");
    await user.click(screen.getByRole("button", { name: "Save changes" }));
    expect(onSave).toHaveBeenCalledTimes(1);
    expect(onSave.mock.calls[0]?.[0]).toMatchObject({ price_cents: 12345, deposit_cents: 1050 });
  });

  it("in the service form: refuses a third decimal, says why, and keeps what was typed", async () => {
    const onSave = form(consultation);
    const price = screen.getByLabelText(/^Price \(SGD\)/);
    const user = userEvent.setup();
    await user.clear(price);
    await user.type(price, "12.345");
    await user.click(screen.getByRole("button", { name: "Save changes" }));
    expect(onSave).not.toHaveBeenCalled();
    expect(price).toHaveValue("12.345");
    expect(price).toHaveAttribute("aria-invalid", "true");
    expect(price).toHaveAccessibleDescription(/dollars and cents/);
    await vi.waitFor(() => expect(price).toHaveFocus());
  });
});
