import { render, screen, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { useState } from "react";
import { describe, expect, it } from "vitest";
import type { Clinic } from "../catalogue";
import { hasAuthorityOver, type Grant } from "./access";
import { firstDraft, GrantEditor, grantsProblem, type GrantDraft } from "./GrantEditor";

const clinic = (id: string, name: string): Clinic => ({
  id,
  code: id,
  name,
  address: "",
  postal_code: "",
  phone: "",
  timezone: "Asia/Singapore",
  opening_hours: [],
  rooms: [],
});
const clinics = [clinic("tampines", "Tampines"), clinic("jurong", "Jurong")];
const administrator: Grant[] = [{ role: "administrator", clinic_id: null }];
const tampinesManager: Grant[] = [{ role: "clinic_manager", clinic_id: "tampines" }];

function Editor({ own, start }: { own: Grant[]; start: GrantDraft[] }) {
  const [value, setValue] = useState(start);
  return (
    <>
      <GrantEditor own={own} clinics={clinics} value={value} onChange={setValue} />
      <output data-testid="value">{JSON.stringify(value)}</output>
    </>
  );
}

const options = (select: HTMLElement) =>
  within(select)
    .getAllByRole("option")
    .map((option) => option.textContent);
function startingWith(own: Grant[]): GrantDraft[] {
  const draft = firstDraft(own, clinics);
  if (!draft) throw new Error("they may grant nothing");
  return [draft];
}
const value = () => JSON.parse(screen.getByTestId("value").textContent ?? "[]") as GrantDraft[];

describe("the grant editor", () => {
  it("offers a clinic manager only the desk's roles, only at their own clinic", () => {
    render(<Editor own={tampinesManager} start={startingWith(tampinesManager)} />);
    expect(options(screen.getByLabelText(/^Role/))).toEqual(["Receptionist", "Practitioner"]);
    expect(options(screen.getByLabelText(/^At/))).toEqual(["Tampines"]);
    expect(value()).toEqual([{ role: "receptionist", clinic: "tampines" }]);
  });

  it("offers an administrator of every clinic every role, at every clinic or one", () => {
    render(<Editor own={administrator} start={startingWith(administrator)} />);
    expect(options(screen.getByLabelText(/^Role/))).toHaveLength(5);
    expect(options(screen.getByLabelText(/^At/))).toEqual(["Every clinic", "Tampines", "Jurong"]);
  });

  it("adds, changes and removes roles from the keyboard", async () => {
    const user = userEvent.setup();
    render(<Editor own={administrator} start={[{ role: "receptionist", clinic: "tampines" }]} />);
    await user.click(screen.getByRole("button", { name: "Add another role" }));
    const roles = screen.getAllByLabelText(/^Role/);
    expect(roles).toHaveLength(2);
    const [, secondRole = document.body] = roles;
    const [, secondPlace = document.body] = screen.getAllByLabelText(/^At/);
    await user.selectOptions(secondRole, "Clinic manager");
    await user.selectOptions(secondPlace, "Jurong");
    expect(value()).toEqual([
      { role: "receptionist", clinic: "tampines" },
      { role: "clinic_manager", clinic: "jurong" },
    ]);
    await user.click(screen.getByRole("button", { name: "Remove Receptionist at Tampines" }));
    expect(value()).toEqual([{ role: "clinic_manager", clinic: "jurong" }]);
  });

  it("refuses no roles at all, and the same role at the same place twice", () => {
    expect(grantsProblem([])).toBe("Give at least one role.");
    const twice = { role: "receptionist", clinic: "tampines" } as const;
    expect(grantsProblem([twice, twice])).toMatch(/twice/);
    expect(grantsProblem([twice, { role: "receptionist", clinic: "jurong" }])).toBeUndefined();
  });

  it("lets a manager act only on accounts whose every role they could have given", () => {
    const desk = [{ role: "receptionist", clinic_id: "tampines" }];
    expect(hasAuthorityOver(tampinesManager, desk)).toBe(true);
    expect(
      hasAuthorityOver(tampinesManager, [...desk, { role: "receptionist", clinic_id: "jurong" }]),
    ).toBe(false);
    expect(
      hasAuthorityOver(tampinesManager, [{ role: "clinic_manager", clinic_id: "tampines" }]),
    ).toBe(false);
    expect(hasAuthorityOver(tampinesManager, [])).toBe(false);
    expect(hasAuthorityOver(administrator, [])).toBe(true);
  });
});
