// The pieces every administration page is made of: its heading, a list loaded from the API,
// a form panel, a question before a change that cannot be taken back, and what a change did.
import {
  useCallback,
  useEffect,
  useId,
  useMemo,
  useRef,
  useState,
  type ReactNode,
  type RefObject,
} from "react";
import { ProblemMessage } from "../components/ProblemMessage";
import { t } from "../i18n";
import "./messages";
import { ConflictsList, type Conflict } from "./Conflicts";
import { useAdmin } from "./context";
import { RequiredNote } from "./fields";

export { AdminTable } from "./table";

/** Data loaded by `load`, again whenever `load` changes (its inputs did) or on `reload()`. */
export function useLoaded<T>(load: () => Promise<T>) {
  const [data, setData] = useState<T | null>(null);
  const [error, setError] = useState<unknown>(null);
  const latest = useRef(0);
  const reload = useCallback(async () => {
    const ask = ++latest.current;
    try {
      const answer = await load();
      if (ask === latest.current) {
        setData(answer);
        setError(null);
      }
    } catch (failure) {
      if (ask === latest.current) setError(failure);
    }
  }, [load]);
  useEffect(() => {
    setData(null);
    void reload();
  }, [reload]);
  return { data, error, reload };
}

/** Run one change at a time; keep what the API refused to show it. */
export function useChange() {
  const [busy, setBusy] = useState(false);
  const [problem, setProblem] = useState<unknown>(null);
  const running = useRef(false);
  const run = useCallback(async (work: () => Promise<void>) => {
    if (running.current) return;
    running.current = true;
    setBusy(true);
    setProblem(null);
    try {
      await work();
    } catch (failure) {
      setProblem(failure);
    } finally {
      running.current = false;
      setBusy(false);
    }
  }, []);
  return { busy, problem, setProblem, run };
}

/**
 * What a page with a list is doing: a form or a question open (`mode`), what the last change
 * did (`outcome`), and the change under way. Opening something clears the last outcome;
 * closing without a change puts the keyboard back where it was.
 */
export function usePage<M>() {
  const [mode, setMode] = useState<M | null>(null);
  const [outcome, setOutcome] = useState<Outcome | null>(null);
  const change = useChange();
  const { setProblem } = change;
  const actions = useMemo(
    () => ({
      open: (next: M) => {
        setOutcome(null);
        setMode(next);
      },
      close: (focus: string) => {
        setMode(null);
        setProblem(null);
        focusById(focus);
      },
      finish: (result: Outcome) => {
        setMode(null);
        setOutcome(result);
      },
      /** Another thing is chosen (e.g. another practitioner): nothing open, no outcome. */
      reset: () => {
        setMode(null);
        setOutcome(null);
        setProblem(null);
      },
    }),
    [setProblem],
  );
  return { mode, outcome, change, ...actions };
}

/** Put the keyboard back on an element of the page by its id (e.g. the button that opened a
 * form), once React has drawn it. */
export function focusById(id: string) {
  setTimeout(() => document.getElementById(id)?.focus(), 0);
}

export function PageHeading({ children }: { children: ReactNode }) {
  const heading = useRef<HTMLHeadingElement>(null);
  useEffect(() => {
    // Arriving from the section links: the keyboard continues at the new page's title.
    if (document.activeElement?.closest(".admin-nav")) heading.current?.focus();
  }, []);
  return (
    <h2 ref={heading} tabIndex={-1}>
      {children}
    </h2>
  );
}

/** Where the keyboard goes back to when a form for something new is closed unsaved. */
export const ADD_BUTTON = "admin-add";

/**
 * An administration page: its title, a word of introduction, its tools (filters, and the
 * button that opens the form for something new), what the last change did, then its body.
 */
export function AdminPage({
  title,
  intro,
  tools,
  add,
  outcome,
  children,
}: {
  title: string;
  intro?: ReactNode;
  tools?: ReactNode;
  /** The button that opens the form for something new (its id is ADD_BUTTON). */
  add?: { label: string; onClick: () => void };
  outcome: Outcome | null;
  children: ReactNode;
}) {
  return (
    <section className="admin-page">
      <PageHeading>{title}</PageHeading>
      {intro}
      {tools || add ? (
        <div className="admin-toolbar">
          {tools}
          {add ? (
            <button type="button" id={ADD_BUTTON} className="primary" onClick={add.onClick}>
              {add.label}
            </button>
          ) : null}
        </div>
      ) : null}
      <OutcomePanel outcome={outcome} />
      {children}
    </section>
  );
}

/** What a page hands the form it opens. */
export interface DraftFormProps<V> {
  title: string;
  busy: boolean;
  problem: unknown;
  onSave: (value: V) => void;
  onCancel: () => void;
}

export function FormPanel({
  title,
  submitLabel,
  busy,
  problem,
  form,
  onSubmit,
  onCancel,
  children,
}: {
  title: string;
  submitLabel: string;
  busy: boolean;
  problem: unknown;
  form: RefObject<HTMLFormElement | null>;
  onSubmit: () => void;
  onCancel: () => void;
  children: ReactNode;
}) {
  const id = useId();
  useEffect(() => {
    // Opening the form puts the keyboard on its first field.
    form.current
      ?.querySelector<HTMLElement>("input:not([disabled]), select:not([disabled]), textarea")
      ?.focus();
  }, [form]);
  return (
    <section className="admin-panel" aria-labelledby={id}>
      <h3 id={id}>{title}</h3>
      <RequiredNote />
      <form
        ref={form}
        noValidate
        aria-busy={busy}
        onSubmit={(event) => {
          event.preventDefault();
          onSubmit();
        }}
      >
        <div className="admin-form-grid">{children}</div>
        <ProblemMessage error={problem} />
        <div className="actions">
          <button type="submit" className="primary">
            {busy ? t("admin.saving") : submitLabel}
          </button>
          <button type="button" onClick={onCancel}>
            {t("admin.cancel")}
          </button>
        </div>
      </form>
    </section>
  );
}

/** Asks before a change, says what it does, and runs it on "yes". */
export function ConfirmPanel({
  question,
  detail,
  confirmLabel,
  problem,
  onConfirm,
  onCancel,
}: {
  question: string;
  detail?: string;
  confirmLabel: string;
  problem: unknown;
  onConfirm: () => void;
  onCancel: () => void;
}) {
  const id = useId();
  const cancel = useRef<HTMLButtonElement>(null);
  useEffect(() => cancel.current?.focus(), []);
  return (
    <section className="admin-panel admin-confirm" aria-labelledby={id}>
      <h3 id={id}>{question}</h3>
      {detail ? <p>{detail}</p> : null}
      <ProblemMessage error={problem} />
      <div className="actions">
        <button type="button" className="danger" onClick={onConfirm}>
          {confirmLabel}
        </button>
        <button type="button" ref={cancel} onClick={onCancel}>
          {t("admin.cancel")}
        </button>
      </div>
    </section>
  );
}

export interface Outcome {
  message: string;
  /** What to do next, e.g. a link to the page that finishes the job. */
  next?: ReactNode;
  /** For changes to working time: the booked appointments it left outside (maybe none). */
  conflicts?: readonly Conflict[];
}

/** What a change did, where the keyboard lands after it: the appointments it left to move. */
export function OutcomePanel({ outcome }: { outcome: Outcome | null }) {
  const { names } = useAdmin();
  const panel = useRef<HTMLDivElement>(null);
  useEffect(() => {
    if (outcome) panel.current?.focus();
  }, [outcome]);
  if (!outcome) return null;
  const conflicts = outcome.conflicts ?? [];
  return (
    <div
      ref={panel}
      tabIndex={-1}
      role="status"
      className={conflicts.length ? "admin-outcome has-conflicts" : "admin-outcome"}
    >
      <p>
        {outcome.message}
        {outcome.conflicts && conflicts.length === 0 ? ` ${t("admin.conflicts.none")}` : null}
      </p>
      {outcome.next}
      <ConflictsList conflicts={conflicts} names={names} />
    </div>
  );
}
