// Staff accounts and their roles: list, create with a first password and roles, and per
// account grant or revoke roles, deactivate or reactivate, reset the second factor (a lost
// phone) and end a lockout. Offered only where the member's own roles allow; the API decides.
import { useCallback, useEffect, useRef, useState } from "react";
import { api, unwrap, type Schemas } from "../api/client";
import type { Clinic } from "../catalogue";
import { ProblemMessage } from "../components/ProblemMessage";
import { t, type MessageKey } from "../i18n";
import "./messages";
import { hasAuthorityOver, mayGrant, type Grant } from "./access";
import { useAdmin } from "./context";
import { TextField, useDraft, type Errors } from "./fields";
import {
  firstDraft,
  GrantEditor,
  grantLabel,
  grantOf,
  GrantPicker,
  grantsProblem,
  type GrantDraft,
} from "./GrantEditor";
import * as panels from "./panels";
import { dateTimeLabel } from "./time";

type Member = Schemas["StaffOut"];
type Mode = { kind: "create" } | { kind: "manage"; id: string };

export interface StaffDraft {
  full_name: string;
  email: string;
  password: string;
  roles: GrantDraft[];
}

const manageButton = (id: string) => `manage-staff-${id}`;
// The API's password policy says more (common passwords, the person's name); this is the
// part worth saying before sending.
const MIN_PASSWORD = 12;
const TIME_ZONE = "Asia/Singapore";

export function validateStaff(draft: StaffDraft): Errors<keyof StaffDraft> {
  const errors: Errors<keyof StaffDraft> = {};
  if (!draft.full_name.trim()) errors.full_name = t("admin.form.required");
  if (!/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(draft.email.trim())) {
    errors.email = t("admin.staff.emailInvalid");
  }
  if (draft.password.length < MIN_PASSWORD) {
    errors.password = t("admin.staff.passwordShort", { count: MIN_PASSWORD });
  }
  const roles = grantsProblem(draft.roles);
  if (roles) errors.roles = roles;
  return errors;
}

export function Staff() {
  const { grants, clinics, staffId } = useAdmin();
  const page = panels.usePage<Mode>();
  const load = useCallback(async () => unwrap(await api.GET("/api/v1/admin/staff")), []);
  const { data: members, error, reload } = panels.useLoaded(load);
  const { mode, change } = page;

  const create = (draft: StaffDraft) =>
    change.run(async () => {
      const member = unwrap(
        await api.POST("/api/v1/admin/staff", {
          body: {
            full_name: draft.full_name.trim(),
            email: draft.email.trim(),
            password: draft.password,
            roles: draft.roles.map(grantOf),
          },
        }),
      );
      page.finish({ message: t("admin.staff.created", { name: member.full_name }) });
      await reload();
    });

  const managed = mode?.kind === "manage" ? members?.find((m) => m.id === mode.id) : undefined;
  const title = t("admin.staff.title");
  return (
    <panels.AdminPage
      title={title}
      outcome={page.outcome}
      add={{
        label: t("admin.staff.add"),
        onClick: () => page.open({ kind: "create" }),
      }}
    >
      {mode?.kind === "create" ? (
        <StaffForm
          title={t("admin.staff.addTitle")}
          own={grants}
          clinics={clinics}
          busy={change.busy}
          problem={change.problem}
          onSave={(draft) => void create(draft)}
          onCancel={() => page.close(panels.ADD_BUTTON)}
        />
      ) : null}
      {managed ? (
        <MemberPanel
          key={managed.id}
          member={managed}
          own={grants}
          clinics={clinics}
          self={managed.id === staffId}
          onChanged={reload}
          onClose={() => page.close(manageButton(managed.id))}
        />
      ) : null}
      <ProblemMessage error={error} />
      <panels.AdminTable
        caption={title}
        rows={members}
        empty=""
        columns={[
          t("admin.staff.name"),
          t("admin.staff.email"),
          t("admin.staff.roles"),
          t("admin.status"),
          t("admin.actions"),
        ]}
      >
        {(member) => (
          <tr key={member.id}>
            <th scope="row">{member.full_name}</th>
            <td>{member.email}</td>
            <td>
              <ul className="admin-plain-list">
                {member.roles.map((grant) => (
                  <li key={grant.id}>{grantLabel(grant, clinics)}</li>
                ))}
              </ul>
            </td>
            <td>{accountState(member)}</td>
            <td>
              <button
                type="button"
                id={manageButton(member.id)}
                aria-label={t("admin.staff.manageNamed", { name: member.full_name })}
                aria-expanded={managed?.id === member.id}
                onClick={() => page.open({ kind: "manage", id: member.id })}
              >
                {t("admin.staff.manage")}
              </button>
            </td>
          </tr>
        )}
      </panels.AdminTable>
    </panels.AdminPage>
  );
}

function accountState(member: Member): string {
  const state = [member.active ? t("admin.status.active") : t("admin.status.inactive")];
  if (!member.enrolled) state.push(t("admin.staff.notEnrolled"));
  if (member.throttled_until) {
    state.push(
      t("admin.staff.throttledUntil", {
        time: dateTimeLabel(member.throttled_until, TIME_ZONE),
      }),
    );
  }
  return state.join(" · ");
}

function StaffForm({
  own,
  clinics,
  onSave,
  ...panel
}: panels.DraftFormProps<StaffDraft> & { own: readonly Grant[]; clinics: readonly Clinic[] }) {
  const { draft, set, bind, errors, check, form } = useDraft<StaffDraft>(() => {
    const first = firstDraft(own, clinics);
    return { full_name: "", email: "", password: "", roles: first ? [first] : [] };
  }, validateStaff);
  return (
    <panels.FormPanel
      {...panel}
      submitLabel={t("admin.staff.create")}
      form={form}
      onSubmit={() => check() && onSave(draft)}
    >
      <TextField
        label={t("admin.staff.name")}
        required
        maxLength={200}
        autoComplete="off"
        {...bind("full_name")}
      />
      <TextField
        label={t("admin.staff.email")}
        type="email"
        required
        maxLength={254}
        autoComplete="off"
        {...bind("email")}
      />
      <TextField
        label={t("admin.staff.password")}
        hint={t("admin.staff.passwordHint", { count: MIN_PASSWORD })}
        type="password"
        required
        maxLength={1024}
        autoComplete="new-password"
        {...bind("password")}
      />
      <GrantEditor
        own={own}
        clinics={clinics}
        value={draft.roles}
        error={errors.roles}
        onChange={(roles) => set("roles", roles)}
      />
    </panels.FormPanel>
  );
}

type Ask = "deactivate" | "reset";

// The account changes that cannot simply be taken back: asked first, in these words.
const ASK: Record<Ask, { question: MessageKey; detail: MessageKey; confirm: MessageKey }> = {
  deactivate: {
    question: "admin.staff.deactivateQuestion",
    detail: "admin.staff.deactivateDetail",
    confirm: "admin.staff.deactivate",
  },
  reset: {
    question: "admin.staff.resetQuestion",
    detail: "admin.staff.resetDetail",
    confirm: "admin.staff.resetFactors",
  },
};

/** One account: its roles (grant, revoke) and what may be done to it. */
function MemberPanel({
  member,
  own,
  clinics,
  self,
  onChanged,
  onClose,
}: {
  member: Member;
  own: readonly Grant[];
  clinics: readonly Clinic[];
  self: boolean;
  onChanged: () => Promise<void>;
  onClose: () => void;
}) {
  const [adding, setAdding] = useState<GrantDraft | null>(() => firstDraft(own, clinics));
  const page = panels.usePage<Ask>();
  const authority = !self && hasAuthorityOver(own, member.roles);
  const name = member.full_name;
  const path = { params: { path: { staff_id: member.id } } };
  const heading = useRef<HTMLHeadingElement>(null);
  // Opened from its row's button: the keyboard goes to the account's panel.
  useEffect(() => heading.current?.focus(), []);

  const act = (message: MessageKey, values: Record<string, string>, work: () => Promise<unknown>) =>
    page.change.run(async () => {
      await work();
      page.finish({ message: t(message, { name, ...values }) });
      await onChanged();
    });
  const account = {
    deactivate: () =>
      act("admin.staff.deactivated", {}, async () =>
        unwrap(await api.POST("/api/v1/admin/staff/{staff_id}/deactivate", path)),
      ),
    reactivate: () =>
      act("admin.staff.reactivated", {}, async () =>
        unwrap(await api.POST("/api/v1/admin/staff/{staff_id}/reactivate", path)),
      ),
    reset: () =>
      act("admin.staff.reset", {}, async () =>
        unwrap(await api.POST("/api/v1/admin/staff/{staff_id}/reset-factors", path)),
      ),
    liftThrottles: () =>
      act("admin.staff.throttlesLifted", {}, async () =>
        unwrap(await api.POST("/api/v1/admin/staff/{staff_id}/unlock", path)),
      ),
  };
  const asking = page.mode;

  return (
    <section className="admin-panel" aria-labelledby="member-title">
      <h3 id="member-title" ref={heading} tabIndex={-1}>
        {t("admin.staff.manageTitle", { name, email: member.email })}
      </h3>
      <p>{accountState(member)}</p>
      <panels.OutcomePanel outcome={page.outcome} />
      {self ? <p className="notice">{t("admin.staff.self")}</p> : null}
      <h4>{t("admin.staff.roles")}</h4>
      <ul className="admin-plain-list">
        {member.roles.map((grant) => {
          const label = grantLabel(grant, clinics);
          return (
            <li key={grant.id} className="admin-grant-line">
              {label}
              {!self && mayGrant(own, grant) ? (
                <button
                  type="button"
                  aria-label={t("admin.staff.revokeNamed", { grant: label })}
                  onClick={() =>
                    void act("admin.staff.revoked", { grant: label }, async () =>
                      unwrap(
                        await api.DELETE("/api/v1/admin/staff/{staff_id}/roles/{grant_id}", {
                          params: { path: { staff_id: member.id, grant_id: grant.id } },
                        }),
                      ),
                    )
                  }
                >
                  {t("admin.staff.revoke")}
                </button>
              ) : null}
            </li>
          );
        })}
      </ul>
      {!self && adding ? (
        <form
          className="admin-grant-form"
          aria-label={t("admin.staff.grantTitle", { name })}
          onSubmit={(event) => {
            event.preventDefault();
            const grant = grantOf(adding);
            void act("admin.staff.granted", { grant: grantLabel(grant, clinics) }, async () =>
              unwrap(
                await api.POST("/api/v1/admin/staff/{staff_id}/roles", { ...path, body: grant }),
              ),
            );
          }}
        >
          <GrantPicker own={own} clinics={clinics} value={adding} onChange={setAdding} />
          <button type="submit">{t("admin.staff.grantRole")}</button>
        </form>
      ) : null}
      {authority ? (
        <>
          <h4>{t("admin.staff.account")}</h4>
          <div className="actions">
            {member.active ? (
              <button type="button" id="member-deactivate" onClick={() => page.open("deactivate")}>
                {t("admin.staff.deactivate")}
              </button>
            ) : (
              <button type="button" onClick={() => void account.reactivate()}>
                {t("admin.staff.reactivate")}
              </button>
            )}
            <button type="button" id="member-reset" onClick={() => page.open("reset")}>
              {t("admin.staff.resetFactors")}
            </button>
            {member.throttled_until ? (
              <button type="button" onClick={() => void account.liftThrottles()}>
                {t("admin.staff.liftThrottles")}
              </button>
            ) : null}
          </div>
        </>
      ) : null}
      {asking ? (
        <panels.ConfirmPanel
          question={t(ASK[asking].question, { name })}
          detail={t(ASK[asking].detail)}
          confirmLabel={t(ASK[asking].confirm)}
          problem={page.change.problem}
          onConfirm={() => void account[asking]()}
          onCancel={() => page.close(`member-${asking}`)}
        />
      ) : (
        <ProblemMessage error={page.change.problem} />
      )}
      <div className="actions">
        <button type="button" onClick={onClose}>
          {t("admin.close")}
        </button>
      </div>
    </section>
  );
}
