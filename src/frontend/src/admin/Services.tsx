// Services and their terms: duration, buffers, the grid of start times, price and deposit,
// what is paid online, notice, how far ahead, the free-cancellation window. Services are shared
// by every clinic, so only someone who manages every clinic may create or change them; others
// see the list.
import { api, unwrap, type Schemas } from "../api/client";
import { money, t, type MessageKey } from "../i18n";
import "./messages";
import { mayEverywhere } from "./access";
import { useAdmin, type ServiceAdmin } from "./context";
import {
  CheckboxField,
  MoneyField,
  RadioField,
  TextAreaField,
  TextField,
  useDraft,
  wholeNumber,
  type Errors,
} from "./fields";
import { centsToText, parseMoney } from "./money";
import * as panels from "./panels";

type OnlinePayment = ServiceAdmin["online_payment"];
type ServiceIn = Schemas["ServiceIn"];
type Mode = { kind: "create" } | { kind: "edit"; service: ServiceAdmin };

export interface ServiceDraft {
  code: string;
  name: string;
  description: string;
  duration_minutes: string;
  buffer_before_minutes: string;
  buffer_after_minutes: string;
  grid_minutes: string;
  price: string;
  deposit: string;
  currency: string;
  min_notice_minutes: string;
  max_days_ahead: string;
  cancellation_window_hours: string;
  online_payment: OnlinePayment;
  active: boolean;
}

const MINUTES_PER_DAY = 1440;
const MAX_CENTS = 100_000_000;
const editButton = (id: string) => `edit-service-${id}`;

export function draftOf(service: ServiceAdmin | undefined): ServiceDraft {
  return {
    code: service?.code ?? "",
    name: service?.name ?? "",
    description: service?.description ?? "",
    duration_minutes: String(service?.duration_minutes ?? 15),
    buffer_before_minutes: String(service?.buffer_before_minutes ?? 0),
    buffer_after_minutes: String(service?.buffer_after_minutes ?? 0),
    grid_minutes: String(service?.grid_minutes ?? 15),
    price: service ? centsToText(service.price_cents) : "",
    deposit: centsToText(service?.deposit_cents ?? 0),
    currency: service?.currency ?? "SGD",
    min_notice_minutes: String(service?.min_notice_minutes ?? 60),
    max_days_ahead: String(service?.max_days_ahead ?? 60),
    cancellation_window_hours: String(service?.cancellation_window_hours ?? 24),
    online_payment: service?.online_payment ?? "none",
    active: service?.active ?? true,
  };
}

/**
 * The service as the API takes it, or what is wrong, field by field. The API's limits and its
 * rules across fields, mirrored so staff hear of a mistake before sending; the API decides.
 */
export function validateService(
  draft: ServiceDraft,
  creating: boolean,
): { errors: Errors<keyof ServiceDraft>; value?: ServiceIn } {
  const errors: Errors<keyof ServiceDraft> = {};
  const whole = (name: keyof ServiceDraft, text: string, min: number, max: number) => {
    const value = wholeNumber(text, min, max);
    if (value === null) errors[name] = t("admin.form.wholeNumber", { min, max });
    return value ?? 0;
  };
  const cents = (name: keyof ServiceDraft, text: string) => {
    const value = parseMoney(text);
    if (value === null || value > MAX_CENTS) errors[name] = t("admin.form.money");
    return value ?? 0;
  };
  if (creating && !/^[a-z0-9][a-z0-9-]{0,39}$/.test(draft.code.trim())) {
    errors.code = t("admin.service.codeInvalid");
  }
  if (!draft.name.trim()) errors.name = t("admin.form.required");
  const value: ServiceIn = {
    code: draft.code.trim(),
    name: draft.name.trim(),
    description: draft.description,
    duration_minutes: whole("duration_minutes", draft.duration_minutes, 1, MINUTES_PER_DAY),
    buffer_before_minutes: whole(
      "buffer_before_minutes",
      draft.buffer_before_minutes,
      0,
      MINUTES_PER_DAY,
    ),
    buffer_after_minutes: whole(
      "buffer_after_minutes",
      draft.buffer_after_minutes,
      0,
      MINUTES_PER_DAY,
    ),
    grid_minutes: whole("grid_minutes", draft.grid_minutes, 1, MINUTES_PER_DAY),
    price_cents: cents("price", draft.price),
    deposit_cents: cents("deposit", draft.deposit),
    currency: draft.currency.trim(),
    min_notice_minutes: whole(
      "min_notice_minutes",
      draft.min_notice_minutes,
      0,
      366 * MINUTES_PER_DAY,
    ),
    max_days_ahead: whole("max_days_ahead", draft.max_days_ahead, 1, 3660),
    cancellation_window_hours: whole(
      "cancellation_window_hours",
      draft.cancellation_window_hours,
      0,
      366 * 24,
    ),
    online_payment: draft.online_payment,
    active: draft.active,
  };
  if (!/^[A-Z]{3}$/.test(value.currency)) errors.currency = t("admin.service.currencyInvalid");
  if (!errors.grid_minutes && MINUTES_PER_DAY % value.grid_minutes !== 0) {
    errors.grid_minutes = t("admin.service.gridInvalid");
  }
  if (!errors.deposit && !errors.price && value.deposit_cents > value.price_cents) {
    errors.deposit = t("admin.service.depositOverPrice");
  }
  if (value.online_payment === "deposit" && value.deposit_cents === 0 && !errors.deposit) {
    errors.online_payment = t("admin.service.needsDeposit");
  }
  if (value.online_payment === "full" && value.price_cents === 0 && !errors.price) {
    errors.online_payment = t("admin.service.needsPrice");
  }
  if (
    !errors.max_days_ahead &&
    !errors.min_notice_minutes &&
    value.max_days_ahead * MINUTES_PER_DAY < value.min_notice_minutes
  ) {
    errors.max_days_ahead = t("admin.service.horizonInvalid");
  }
  return Object.keys(errors).length ? { errors } : { errors, value };
}

/** Only what changed, for PATCH. */
export function serviceChanges(before: ServiceAdmin, after: ServiceIn): Schemas["ServicePatch"] {
  const changes: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(after)) {
    if (name !== "code" && before[name as keyof ServiceAdmin] !== value) changes[name] = value;
  }
  return changes as Schemas["ServicePatch"];
}

export function Services() {
  const { grants, services, reloadServices } = useAdmin();
  const editable = mayEverywhere(grants, "clinic.manage");
  const page = panels.usePage<Mode>();
  const { mode, change } = page;

  const save = (value: ServiceIn) =>
    change.run(async () => {
      unwrap(
        mode?.kind === "edit"
          ? await api.PATCH("/api/v1/admin/services/{service_id}", {
              params: { path: { service_id: mode.service.id } },
              body: serviceChanges(mode.service, value),
            })
          : await api.POST("/api/v1/admin/services", { body: value }),
      );
      page.finish({ message: t("admin.service.saved", { name: value.name }) });
      await reloadServices();
    });

  const title = t("admin.services.title");
  return (
    <panels.AdminPage
      title={title}
      outcome={page.outcome}
      intro={editable ? null : <p className="notice">{t("admin.services.readOnly")}</p>}
      add={
        editable
          ? {
              label: t("admin.service.add"),
              onClick: () => page.open({ kind: "create" }),
            }
          : undefined
      }
    >
      {mode ? (
        <ServiceForm
          key={mode.kind === "edit" ? mode.service.id : "new"}
          initial={mode.kind === "edit" ? mode.service : undefined}
          title={
            mode.kind === "edit"
              ? t("admin.service.editTitle", { name: mode.service.name })
              : t("admin.service.addTitle")
          }
          busy={change.busy}
          problem={change.problem}
          onSave={(value) => void save(value)}
          onCancel={() =>
            page.close(mode.kind === "edit" ? editButton(mode.service.id) : panels.ADD_BUTTON)
          }
        />
      ) : null}
      <panels.AdminTable
        caption={title}
        rows={services}
        empty={t("admin.services.none")}
        columns={[
          t("admin.service.name"),
          t("admin.service.duration"),
          t("admin.service.price"),
          t("admin.service.deposit"),
          t("admin.service.onlinePayment"),
          t("admin.service.booking"),
          t("admin.status"),
          ...(editable ? [t("admin.actions")] : []),
        ]}
      >
        {(service) => (
          <tr key={service.id}>
            <th scope="row">
              {service.name}
              <span className="admin-code">{service.code}</span>
            </th>
            <td>
              {t("admin.service.durationValue", {
                minutes: service.duration_minutes,
                before: service.buffer_before_minutes,
                after: service.buffer_after_minutes,
                grid: service.grid_minutes,
              })}
            </td>
            <td>{money(service.price_cents, service.currency)}</td>
            <td>{money(service.deposit_cents, service.currency)}</td>
            <td>{t(`admin.service.online.${service.online_payment}`)}</td>
            <td>
              {t("admin.service.bookingValue", {
                notice: service.min_notice_minutes,
                days: service.max_days_ahead,
                hours: service.cancellation_window_hours,
              })}
            </td>
            <td>{service.active ? t("admin.status.active") : t("admin.status.inactive")}</td>
            {editable ? (
              <td>
                <button
                  type="button"
                  id={editButton(service.id)}
                  aria-label={t("admin.editNamed", { name: service.name })}
                  onClick={() => page.open({ kind: "edit", service })}
                >
                  {t("admin.edit")}
                </button>
              </td>
            ) : null}
          </tr>
        )}
      </panels.AdminTable>
    </panels.AdminPage>
  );
}

// Whole-number fields: their limits (the API's) and their words.
const NUMBERS = {
  duration_minutes: { min: 1, max: MINUTES_PER_DAY, label: "admin.service.durationMinutes" },
  buffer_before_minutes: {
    min: 0,
    max: MINUTES_PER_DAY,
    label: "admin.service.bufferBefore",
    hint: "admin.service.bufferHint",
  },
  buffer_after_minutes: {
    min: 0,
    max: MINUTES_PER_DAY,
    label: "admin.service.bufferAfter",
    hint: "admin.service.bufferHint",
  },
  grid_minutes: {
    min: 1,
    max: MINUTES_PER_DAY,
    label: "admin.service.grid",
    hint: "admin.service.gridHint",
  },
  min_notice_minutes: {
    min: 0,
    max: 366 * MINUTES_PER_DAY,
    label: "admin.service.notice",
    hint: "admin.service.noticeHint",
  },
  max_days_ahead: { min: 1, max: 3660, label: "admin.service.horizon" },
  cancellation_window_hours: {
    min: 0,
    max: 366 * 24,
    label: "admin.service.cancellationWindow",
    hint: "admin.service.cancellationHint",
  },
} as const satisfies Record<
  string,
  { min: number; max: number; label: MessageKey; hint?: MessageKey }
>;

type NumberName = keyof typeof NUMBERS;

export function ServiceForm({
  initial,
  onSave,
  ...panel
}: panels.DraftFormProps<ServiceIn> & { initial?: ServiceAdmin }) {
  const { draft, set, bind, errors, check, form } = useDraft<ServiceDraft>(
    () => draftOf(initial),
    (d) => validateService(d, !initial).errors,
  );
  const number = (name: NumberName) => {
    const { min, max, label, ...rest } = NUMBERS[name];
    const hint = "hint" in rest ? t(rest.hint) : undefined;
    return (
      <TextField
        label={t(label)}
        hint={hint}
        required
        type="number"
        inputMode="numeric"
        min={min}
        max={max}
        step={1}
        {...bind(name)}
      />
    );
  };
  const currency = draft.currency || "SGD";

  return (
    <panels.FormPanel
      {...panel}
      submitLabel={initial ? t("admin.save") : t("admin.service.create")}
      form={form}
      onSubmit={() => {
        const { value } = validateService(draft, !initial);
        if (check() && value) onSave(value);
      }}
    >
      {initial ? (
        <p className="admin-readonly">
          {t("admin.service.code")}: {initial.code}
        </p>
      ) : (
        <TextField
          label={t("admin.service.code")}
          hint={t("admin.service.codeHint")}
          required
          maxLength={40}
          autoComplete="off"
          {...bind("code")}
        />
      )}
      <TextField label={t("admin.service.name")} required maxLength={200} {...bind("name")} />
      <TextAreaField
        label={t("admin.service.description")}
        maxLength={2000}
        {...bind("description")}
      />
      {number("duration_minutes")}
      {number("buffer_before_minutes")}
      {number("buffer_after_minutes")}
      {number("grid_minutes")}
      <MoneyField
        label={t("admin.service.price")}
        currency={currency}
        required
        {...bind("price")}
      />
      <MoneyField
        label={t("admin.service.deposit")}
        currency={currency}
        hint={t("admin.service.depositHint")}
        required
        {...bind("deposit")}
      />
      <TextField
        label={t("admin.service.currency")}
        hint={t("admin.service.currencyHint")}
        required
        maxLength={3}
        autoComplete="off"
        value={draft.currency}
        error={errors.currency}
        onChange={(value) => set("currency", value.toUpperCase())}
      />
      <RadioField<OnlinePayment>
        label={t("admin.service.onlinePayment")}
        value={draft.online_payment}
        error={errors.online_payment}
        onChange={(value) => set("online_payment", value)}
        choices={[
          { value: "none", label: t("admin.service.online.none") },
          { value: "deposit", label: t("admin.service.online.deposit") },
          { value: "full", label: t("admin.service.online.full") },
        ]}
      />
      {number("min_notice_minutes")}
      {number("max_days_ahead")}
      {number("cancellation_window_hours")}
      <CheckboxField
        label={t("admin.service.activeLabel")}
        checked={draft.active}
        onChange={(on) => set("active", on)}
      />
    </panels.FormPanel>
  );
}
