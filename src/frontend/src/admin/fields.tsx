// Form fields of the administration pages: a real label (marked when required), a hint and the
// field's own error, tied to the control so a screen reader reads them with it; and the draft a
// form edits, with its errors.
import {
  useId,
  useRef,
  useState,
  type InputHTMLAttributes,
  type ReactNode,
  type SelectHTMLAttributes,
} from "react";
import { t } from "../i18n";
import "./messages";

export type Errors<K extends string> = Partial<Record<K, string>>;

interface FieldFrame {
  label: string;
  required?: boolean;
  hint?: string;
  error?: string;
}

/** What a field shows and how it reports a change: see useDraft's `bind`. */
interface Bound {
  value: string;
  onChange: (value: string) => void;
}

interface Control {
  id: string;
  required?: boolean;
  "aria-describedby"?: string;
  "aria-invalid"?: true;
}

function Field({
  label,
  required,
  hint,
  error,
  children,
}: FieldFrame & { children: (control: Control) => ReactNode }) {
  const id = useId();
  const described = [hint ? `${id}-hint` : "", error ? `${id}-error` : ""].filter(Boolean);
  return (
    <div className="admin-field">
      {/* The mark sits outside the label: the label is the field's name, "required" is said
          by the control itself. */}
      <span className="admin-label">
        <label htmlFor={id}>{label}</label>
        {required ? (
          <span className="required-mark" aria-hidden="true">
            *
          </span>
        ) : null}
      </span>
      {children({
        id,
        required,
        "aria-describedby": described.length ? described.join(" ") : undefined,
        "aria-invalid": error ? true : undefined,
      })}
      {hint ? (
        <p className="hint" id={`${id}-hint`}>
          {hint}
        </p>
      ) : null}
      {error ? (
        <p className="field-error" id={`${id}-error`}>
          {error}
        </p>
      ) : null}
    </div>
  );
}

type InputProps = Omit<
  InputHTMLAttributes<HTMLInputElement>,
  "value" | "onChange" | "id" | "required"
>;

export function TextField({ value, onChange, ...rest }: FieldFrame & Bound & InputProps) {
  const { label, required, hint, error, ...input } = rest;
  return (
    <Field label={label} required={required} hint={hint} error={error}>
      {(control) => (
        <input
          {...input}
          {...control}
          value={value}
          onChange={(event) => onChange(event.target.value)}
        />
      )}
    </Field>
  );
}

export function TextAreaField({
  value,
  onChange,
  maxLength,
  ...frame
}: FieldFrame & Bound & { maxLength?: number }) {
  return (
    <Field {...frame}>
      {(control) => (
        <textarea
          {...control}
          rows={3}
          maxLength={maxLength}
          value={value}
          onChange={(event) => onChange(event.target.value)}
        />
      )}
    </Field>
  );
}

export interface Choice {
  value: string;
  label: string;
}

export function SelectField({
  value,
  onChange,
  choices,
  disabled,
  ...frame
}: FieldFrame &
  Bound & { choices: readonly Choice[] } & Pick<
    SelectHTMLAttributes<HTMLSelectElement>,
    "disabled"
  >) {
  return (
    <Field {...frame}>
      {(control) => (
        <select
          {...control}
          disabled={disabled}
          value={value}
          onChange={(event) => onChange(event.target.value)}
        >
          {choices.map((choice) => (
            <option key={choice.value} value={choice.value}>
              {choice.label}
            </option>
          ))}
        </select>
      )}
    </Field>
  );
}

export function CheckboxField({
  label,
  checked,
  onChange,
}: {
  label: string;
  checked: boolean;
  onChange: (checked: boolean) => void;
}) {
  return (
    <label className="admin-check">
      <input
        type="checkbox"
        checked={checked}
        onChange={(event) => onChange(event.target.checked)}
      />
      {label}
    </label>
  );
}

/** The money field: dollars and cents as typed; the form turns them into cents (see money.ts). */
export function MoneyField({
  label,
  currency,
  ...rest
}: FieldFrame & Bound & { currency: string }) {
  return (
    <TextField
      {...rest}
      label={`${label} (${currency})`}
      inputMode="decimal"
      autoComplete="off"
      placeholder="0.00"
    />
  );
}

/** One choice of a few, as radio buttons under a legend. */
export function RadioField<V extends string>({
  label,
  error,
  value,
  onChange,
  choices,
}: {
  label: string;
  error?: string;
  value: V;
  onChange: (value: V) => void;
  choices: readonly { value: V; label: string }[];
}) {
  const id = useId();
  return (
    <fieldset className="admin-radios" aria-describedby={error ? `${id}-error` : undefined}>
      <legend>{label}</legend>
      {choices.map((choice, index) => (
        <label key={choice.value} className="admin-check">
          <input
            type="radio"
            name={id}
            value={choice.value}
            checked={value === choice.value}
            // Where the keyboard lands when the choice is what is wrong (see useDraft).
            data-invalid={error && index === 0 ? true : undefined}
            onChange={() => onChange(choice.value)}
          />
          {choice.label}
        </label>
      ))}
      {error ? (
        <p className="field-error" id={`${id}-error`}>
          {error}
        </p>
      ) : null}
    </fieldset>
  );
}

/** The note that explains the required mark, at the top of each form. */
export function RequiredNote() {
  return <p className="hint">{t("admin.form.requiredNote")}</p>;
}

type TextKeys<D> = { [N in keyof D]: D[N] extends string ? N : never }[keyof D] & string;

/**
 * The draft a form edits, and its own errors. None are shown until the form is first sent;
 * from then on they follow what is typed, so fixing a field (or the one it depends on) clears
 * its error at once. On sending, the keyboard lands on the first field to fix.
 */
export function useDraft<D extends object>(
  initial: D | (() => D),
  validate: (draft: D) => Errors<keyof D & string>,
) {
  const [draft, setDraft] = useState<D>(initial);
  const [sent, setSent] = useState(false);
  const form = useRef<HTMLFormElement>(null);
  const errors: Errors<keyof D & string> = sent ? validate(draft) : {};
  const set = <N extends keyof D>(name: N, value: D[N]) =>
    setDraft((current) => ({ ...current, [name]: value }));
  /** A text field's value, error and change handler, by the draft's field name. */
  const bind = <N extends TextKeys<D>>(name: N) => ({
    value: draft[name] as string,
    error: errors[name],
    onChange: (value: string) => set(name, value as D[N]),
  });
  const check = (): boolean => {
    setSent(true);
    if (Object.keys(validate(draft)).length === 0) return true;
    // After React has drawn the errors and marked the fields invalid.
    setTimeout(() => {
      form.current?.querySelector<HTMLElement>('[aria-invalid="true"], [data-invalid]')?.focus();
    }, 0);
    return false;
  };
  return { draft, set, bind, errors, check, form };
}

/** A whole number typed into a field, if it is one within the limits. */
export function wholeNumber(text: string, min: number, max: number): number | null {
  const trimmed = text.trim();
  if (!/^\d+$/.test(trimmed)) return null;
  const value = Number(trimmed);
  return value >= min && value <= max ? value : null;
}
