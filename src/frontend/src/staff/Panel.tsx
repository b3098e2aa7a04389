// The desk's side panel: a titled region with a way to close it.
import type { ReactNode } from "react";
import { t } from "../i18n";

interface Props {
  id: string;
  title: ReactNode;
  onClose: () => void;
  children: ReactNode;
}

export function Panel({ id, title, onClose, children }: Props) {
  return (
    <aside className="panel" aria-labelledby={id}>
      <div className="panel-head">
        <h2 id={id}>{title}</h2>
        <button type="button" className="link-button" onClick={onClose}>
          {t("desk.close")}
        </button>
      </div>
      {children}
    </aside>
  );
}
