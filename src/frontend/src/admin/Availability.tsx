// Weekly availability at the chosen clinic: each line says a practitioner works there on a
// weekday, from a time to a time, in a room, over a period. Add, change and remove lines; a
// change that leaves booked appointments outside working time lists them.
import { useCallback, useEffect } from "react";
import { useSearchParams } from "react-router";
import { api, unwrap, type Schemas } from "../api/client";
import { clinicToday } from "../catalogue";
import { ProblemMessage } from "../components/ProblemMessage";
import { t } from "../i18n";
import "./messages";
import { personName, useAdmin } from "./context";
import { SelectField, TextField, useDraft, type Choice, type Errors } from "./fields";
import * as panels from "./panels";
import { dateLabel, hhmm, weekdayNames } from "./time";

type Line = Schemas["AvailabilityLineOut"];
type Mode = { kind: "create" } | { kind: "edit"; line: Line } | { kind: "delete"; line: Line };

export interface LineDraft {
  practitioner_id: string;
  weekday: string;
  start_time: string;
  end_time: string;
  room_id: string;
  valid_from: string;
  valid_until: string;
}

const editButton = (id: number) => `edit-line-${id}`;

/** What is wrong with a weekly line, field by field (the API's rules, mirrored). */
export function validateLine(draft: LineDraft): Errors<keyof LineDraft> {
  const errors: Errors<keyof LineDraft> = {};
  const time = /^\d{2}:\d{2}$/;
  if (!draft.practitioner_id) errors.practitioner_id = t("admin.form.required");
  if (!time.test(draft.start_time)) errors.start_time = t("admin.form.time");
  if (!time.test(draft.end_time)) errors.end_time = t("admin.form.time");
  else if (!errors.start_time && draft.end_time <= draft.start_time) {
    errors.end_time = t("admin.availability.endBeforeStart");
  }
  if (!draft.valid_from) errors.valid_from = t("admin.form.required");
  if (draft.valid_until && draft.valid_from && draft.valid_until < draft.valid_from) {
    errors.valid_until = t("admin.availability.untilBeforeFrom");
  }
  return errors;
}

function draftOf(line: Line | undefined, practitionerId: string): LineDraft {
  return {
    practitioner_id: line?.practitioner_id ?? practitionerId,
    weekday: String(line?.weekday ?? 0),
    start_time: line ? hhmm(line.start_time) : "09:00",
    end_time: line ? hhmm(line.end_time) : "13:00",
    room_id: line?.room_id ?? "",
    valid_from: line?.valid_from ?? clinicToday(),
    valid_until: line?.valid_until ?? "",
  };
}

export function Availability() {
  const { clinic, people, names } = useAdmin();
  const [params, setParams] = useSearchParams();
  const chosen = params.get("practitioner") ?? "";
  const page = panels.usePage<Mode>();
  const clinicId = clinic?.id;
  const load = useCallback(async () => {
    if (!clinicId) return [];
    return unwrap(
      await api.GET("/api/v1/admin/clinics/{clinic_id}/availability", {
        params: { path: { clinic_id: clinicId } },
      }),
    );
  }, [clinicId]);
  const { data: lines, error, reload } = panels.useLoaded(load);

  // Arriving from a practitioner just created: their first line, ready to fill in.
  const arriving = params.get("add") === "1";
  const { open } = page;
  useEffect(() => {
    if (arriving) open({ kind: "create" });
  }, [arriving, open]);

  if (!clinic) return <p>{t("admin.noClinic")}</p>;
  const { mode, change } = page;
  const weekdays = weekdayNames();
  const describe = (line: Line) =>
    t("admin.availability.lineNamed", {
      name: names.practitioner(line.practitioner_id),
      weekday: weekdays[line.weekday] ?? "",
      start: hhmm(line.start_time),
      end: hhmm(line.end_time),
    });

  const save = (draft: LineDraft) =>
    change.run(async () => {
      const common = {
        weekday: Number(draft.weekday),
        start_time: draft.start_time,
        end_time: draft.end_time,
        room_id: draft.room_id || null,
        valid_from: draft.valid_from,
        valid_until: draft.valid_until || null,
      };
      const changed = unwrap(
        mode?.kind === "edit"
          ? await api.PATCH("/api/v1/admin/availability/{availability_id}", {
              params: { path: { availability_id: mode.line.id } },
              body: common,
            })
          : await api.POST("/api/v1/admin/clinics/{clinic_id}/availability", {
              params: { path: { clinic_id: clinic.id } },
              body: { ...common, practitioner_id: draft.practitioner_id },
            }),
      );
      page.finish({
        message: t("admin.availability.saved", { line: describe(changed.availability) }),
        conflicts: changed.conflicts,
      });
      await reload();
    });

  const remove = (line: Line) =>
    change.run(async () => {
      const removed = unwrap(
        await api.DELETE("/api/v1/admin/availability/{availability_id}", {
          params: { path: { availability_id: line.id } },
        }),
      );
      page.finish({
        message: t("admin.availability.removed", { line: describe(line) }),
        conflicts: removed.conflicts,
      });
      await reload();
    });

  const shown =
    lines &&
    lines
      .filter((line) => !chosen || line.practitioner_id === chosen)
      .sort(
        (a, b) =>
          names
            .practitioner(a.practitioner_id)
            .localeCompare(names.practitioner(b.practitioner_id)) ||
          a.weekday - b.weekday ||
          a.start_time.localeCompare(b.start_time),
      );
  const working = new Set((lines ?? []).map((line) => line.practitioner_id));
  const filterChoices: Choice[] = [
    { value: "", label: t("admin.availability.everyone") },
    ...people
      .filter((person) => working.has(person.id) || person.id === chosen)
      .map((person) => ({ value: person.id, label: personName(person) })),
  ];
  const room = (id: string | null) =>
    clinic.rooms.find((r) => r.id === id)?.name ?? t("admin.availability.noRoom");
  const title = t("admin.availability.title", { clinic: clinic.name });

  return (
    <panels.AdminPage
      title={title}
      outcome={page.outcome}
      intro={<p className="hint">{t("admin.availability.intro")}</p>}
      tools={
        <SelectField
          label={t("admin.availability.filter")}
          value={chosen}
          choices={filterChoices}
          onChange={(value) => {
            const next = new URLSearchParams(params);
            if (value) next.set("practitioner", value);
            else next.delete("practitioner");
            next.delete("add");
            setParams(next, { replace: true });
          }}
        />
      }
      add={{
        label: t("admin.availability.add"),
        onClick: () => page.open({ kind: "create" }),
      }}
    >
      {mode?.kind === "create" || mode?.kind === "edit" ? (
        <LineForm
          key={mode.kind === "edit" ? mode.line.id : "new"}
          title={
            mode.kind === "edit"
              ? t("admin.availability.editTitle", { line: describe(mode.line) })
              : t("admin.availability.addTitle", { clinic: clinic.name })
          }
          initial={draftOf(mode.kind === "edit" ? mode.line : undefined, chosen)}
          editing={mode.kind === "edit"}
          practitioners={people.map((p) => ({ value: p.id, label: personName(p) }))}
          rooms={clinic.rooms.map((r) => ({ value: r.id, label: r.name }))}
          busy={change.busy}
          problem={change.problem}
          onSave={(draft) => void save(draft)}
          onCancel={() =>
            page.close(mode.kind === "edit" ? editButton(mode.line.id) : panels.ADD_BUTTON)
          }
        />
      ) : null}
      {mode?.kind === "delete" ? (
        <panels.ConfirmPanel
          question={t("admin.availability.deleteQuestion", { line: describe(mode.line) })}
          detail={t("admin.availability.deleteDetail")}
          confirmLabel={t("admin.delete")}
          problem={change.problem}
          onConfirm={() => void remove(mode.line)}
          onCancel={() => page.close(editButton(mode.line.id))}
        />
      ) : null}
      <ProblemMessage error={error} />
      <panels.AdminTable
        caption={title}
        rows={shown}
        empty={
          chosen
            ? t("admin.availability.noneFor", { name: names.practitioner(chosen) })
            : t("admin.availability.none")
        }
        columns={[
          t("admin.availability.practitioner"),
          t("admin.availability.weekday"),
          t("admin.availability.hours"),
          t("admin.availability.room"),
          t("admin.availability.validFrom"),
          t("admin.availability.validUntil"),
          t("admin.actions"),
        ]}
      >
        {(line) => (
          <tr key={line.id}>
            <th scope="row">{names.practitioner(line.practitioner_id)}</th>
            <td>{weekdays[line.weekday]}</td>
            <td>
              {hhmm(line.start_time)}–{hhmm(line.end_time)}
            </td>
            <td>{room(line.room_id)}</td>
            <td>{dateLabel(line.valid_from)}</td>
            <td>
              {line.valid_until ? dateLabel(line.valid_until) : t("admin.availability.noEnd")}
            </td>
            <td>
              <div className="row-actions">
                <button
                  type="button"
                  id={editButton(line.id)}
                  aria-label={t("admin.editNamed", { name: describe(line) })}
                  onClick={() => page.open({ kind: "edit", line })}
                >
                  {t("admin.edit")}
                </button>
                <button
                  type="button"
                  aria-label={t("admin.deleteNamed", { name: describe(line) })}
                  onClick={() => page.open({ kind: "delete", line })}
                >
                  {t("admin.delete")}
                </button>
              </div>
            </td>
          </tr>
        )}
      </panels.AdminTable>
    </panels.AdminPage>
  );
}

export function LineForm({
  initial,
  editing,
  practitioners,
  rooms,
  onSave,
  ...panel
}: panels.DraftFormProps<LineDraft> & {
  initial: LineDraft;
  editing: boolean;
  practitioners: readonly Choice[];
  rooms: readonly Choice[];
}) {
  const { draft, bind, check, form } = useDraft(initial, validateLine);
  const weekdays = weekdayNames();
  return (
    <panels.FormPanel
      {...panel}
      submitLabel={editing ? t("admin.save") : t("admin.availability.create")}
      form={form}
      onSubmit={() => check() && onSave(draft)}
    >
      <SelectField
        label={t("admin.availability.practitioner")}
        required
        disabled={editing}
        hint={editing ? t("admin.availability.practitionerFixed") : undefined}
        choices={[{ value: "", label: t("admin.choose") }, ...practitioners]}
        {...bind("practitioner_id")}
      />
      <SelectField
        label={t("admin.availability.weekday")}
        required
        choices={weekdays.map((name, n) => ({ value: String(n), label: name }))}
        {...bind("weekday")}
      />
      <TextField
        label={t("admin.availability.start")}
        type="time"
        required
        step={300}
        {...bind("start_time")}
      />
      <TextField
        label={t("admin.availability.end")}
        type="time"
        required
        step={300}
        {...bind("end_time")}
      />
      <SelectField
        label={t("admin.availability.room")}
        choices={[{ value: "", label: t("admin.availability.noRoom") }, ...rooms]}
        {...bind("room_id")}
      />
      <TextField
        label={t("admin.availability.validFrom")}
        type="date"
        required
        {...bind("valid_from")}
      />
      <TextField
        label={t("admin.availability.validUntil")}
        hint={t("admin.availability.validUntilHint")}
        type="date"
        {...bind("valid_until")}
      />
    </panels.FormPanel>
  );
}
