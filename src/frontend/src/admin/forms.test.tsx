import { render, screen } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { describe, expect, it, vi } from "vitest";
import { Problem } from "../api/client";
import { validateLine, type LineDraft } from "./Availability";
import { validateClosure } from "./Closures";
import type { ServiceAdmin } from "./context";
import { PractitionerForm } from "./Practitioners";
import { draftOf, serviceChanges, validateService } from "./Services";
import { validateStaff } from "./Staff";
import { validateTimeOff } from "./TimeOff";
import { zonedIso } from "./time";

const service = (values: Partial<ServiceAdmin> = {}): ServiceAdmin => ({
  id: "svc-1",
  code: "screening",
  name: "Health screening",
  description: "",
  duration_minutes: 45,
  buffer_before_minutes: 5,
  buffer_after_minutes: 10,
  grid_minutes: 15,
  price_cents: 18000,
  deposit_cents: 5000,
  currency: "SGD",
  min_notice_minutes: 60,
  max_days_ahead: 60,
  cancellation_window_hours: 24,
  online_payment: "deposit",
  active: true,
  ...values,
});

describe("the service form's rules", () => {
  it("accepts a service as it is, and sends only what changed", () => {
    const before = service();
    const { errors, value } = validateService({ ...draftOf(before), price: "200" }, false);
    expect(errors).toEqual({});
    expect(value && serviceChanges(before, value)).toEqual({ price_cents: 20000 });
  });

  it("mirrors the API's rules across fields, each on the field to fix", () => {
    const draft = draftOf(service());
    expect(validateService({ ...draft, deposit: "200.00" }, false).errors).toEqual({
      deposit: "The deposit cannot be more than the price.",
    });
    expect(validateService({ ...draft, grid_minutes: "7" }, false).errors.grid_minutes).toMatch(
      /divide a day/,
    );
    expect(validateService({ ...draft, deposit: "0" }, false).errors.online_payment).toMatch(
      /deposit above zero/,
    );
    expect(
      validateService({ ...draft, price: "0", deposit: "0", online_payment: "full" }, false).errors
        .online_payment,
    ).toMatch(/price above zero/);
    expect(
      validateService({ ...draft, min_notice_minutes: "2880", max_days_ahead: "1" }, false).errors
        .max_days_ahead,
    ).toMatch(/beyond the minimum notice/);
    expect(
      validateService({ ...draft, duration_minutes: "0" }, false).errors.duration_minutes,
    ).toBe("Enter a whole number from 1 to 1440.");
    expect(validateService({ ...draft, currency: "sg" }, false).errors.currency).toBeDefined();
  });

  it("asks a new service for a code the API takes", () => {
    const draft = { ...draftOf(undefined), name: "Flu jab", price: "30" };
    expect(validateService({ ...draft, code: "Flu Jab" }, true).errors.code).toBeDefined();
    expect(validateService({ ...draft, code: "flu-jab" }, true).value).toMatchObject({
      code: "flu-jab",
      price_cents: 3000,
      online_payment: "none",
    });
  });
});

describe("the other forms' rules", () => {
  const line: LineDraft = {
    practitioner_id: "doc-1",
    weekday: "0",
    start_time: "09:00",
    end_time: "13:00",
    room_id: "",
    valid_from: "2026-12-01",
    valid_until: "",
  };

  it("a weekly line ends after it starts, and its last day is not before its first", () => {
    expect(validateLine(line)).toEqual({});
    expect(validateLine({ ...line, end_time: "09:00" }).end_time).toMatch(/after the start/);
    expect(validateLine({ ...line, valid_until: "2026-11-30" }).valid_until).toBeDefined();
    expect(validateLine({ ...line, practitioner_id: "" }).practitioner_id).toBe(
      "This is required.",
    );
  });

  it("a closure has a reason and at most a year of days, in order", () => {
    const closure = { first_day: "2026-12-01", last_day: "", reason: "Renovation" };
    expect(validateClosure(closure)).toEqual({});
    expect(validateClosure({ ...closure, reason: " " }).reason).toBeDefined();
    expect(validateClosure({ ...closure, last_day: "2026-11-30" }).last_day).toMatch(/before/);
    // 366 days (a leap year's worth) at most, as the API allows.
    expect(validateClosure({ ...closure, last_day: "2027-12-01" })).toEqual({});
    expect(validateClosure({ ...closure, last_day: "2027-12-02" }).last_day).toMatch(/366/);
  });

  it("time off ends after it starts", () => {
    const away = { starts_at: "2026-12-01T09:00", ends_at: "2026-12-01T13:00", reason: "" };
    expect(validateTimeOff(away)).toEqual({});
    expect(validateTimeOff({ ...away, ends_at: "2026-12-01T08:00" }).ends_at).toBeDefined();
  });

  it("a new staff account has an email, a long enough password and a role", () => {
    const member = {
      full_name: "Tan Mei Ling",
      email: "mei.ling@medical.example",
      password: "correct horse battery",
      roles: [{ role: "receptionist" as const, clinic: "tampines" }],
    };
    expect(validateStaff(member)).toEqual({});
    expect(
      Object.keys(validateStaff({ ...member, email: "mei", password: "short", roles: [] })),
    ).toEqual(["email", "password", "roles"]);
  });

  it("times typed in the clinic's zone are sent with its offset", () => {
    expect(zonedIso("2026-12-01T09:00", "Asia/Singapore")).toBe("2026-12-01T09:00:00+08:00");
    expect(zonedIso("2026-07-01T09:00", "Europe/London")).toBe("2026-07-01T09:00:00+01:00");
  });
});

describe("the practitioner form", () => {
  const services = [service({ id: "svc-1", name: "Health screening" })];

  it("labels every field, marks the required ones and lands on the first one to fix", async () => {
    const onSave = vi.fn();
    render(
      <PractitionerForm
        title="New practitioner"
        services={services}
        busy={false}
        problem={null}
        onSave={onSave}
        onCancel={vi.fn()}
      />,
    );
    const user = userEvent.setup();
    const number = screen.getByLabelText(/^Registration number/);
    expect(number).toBeRequired();
    expect(number).toHaveFocus(); // opening the form puts the keyboard on its first field
    await user.type(screen.getByLabelText(/^Full name/), "Tan Wei");
    await user.click(screen.getByRole("button", { name: "Create practitioner" }));
    expect(onSave).not.toHaveBeenCalled();
    await vi.waitFor(() => expect(number).toHaveFocus());
    expect(number).toHaveAccessibleDescription(/letters and digits/);
    expect(screen.getByLabelText(/^Profession/)).toHaveAttribute("aria-invalid", "true");

    await user.type(number, "m12345a");
    // Once sent, errors follow what is typed: a field fixed is no longer marked.
    expect(number).not.toHaveAttribute("aria-invalid");
    await user.type(screen.getByLabelText(/^Profession/), "doctor");
    expect(screen.getByLabelText(/^Profession/)).not.toHaveAttribute("aria-invalid");
    await user.click(screen.getByRole("checkbox", { name: "Health screening" }));
    await user.click(screen.getByRole("button", { name: "Create practitioner" }));
    expect(onSave).toHaveBeenCalledWith({
      registration_number: "m12345a",
      title: "Dr",
      full_name: "Tan Wei",
      profession: "doctor",
      service_ids: ["svc-1"],
      active: true,
    });
  });

  it("shows the API's refusal in its own words and keeps what was typed", () => {
    const refusal = new Problem(
      409,
      "registration_number_taken",
      "A practitioner with number M12345A already exists.",
    );
    render(
      <PractitionerForm
        title="Edit Dr Tan Wei"
        initial={{
          id: "doc-1",
          registration_number: "M12345A",
          title: "Dr",
          full_name: "Tan Wei",
          profession: "doctor",
          active: true,
          service_ids: [],
          clinic_ids: [],
        }}
        services={services}
        busy={false}
        problem={refusal}
        onSave={vi.fn()}
        onCancel={vi.fn()}
      />,
    );
    expect(screen.getByRole("alert")).toHaveTextContent(
      "A practitioner with number M12345A already exists.",
    );
    expect(screen.getByLabelText(/^Full name/)).toHaveValue("Tan Wei");
    // The registration number is not something an edit can change.
    expect(screen.queryByLabelText(/^Registration number/)).toBeNull();
  });
});
