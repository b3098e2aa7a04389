// A list as the administration pages show it: a table on a desktop or tablet (scrolling
// sideways when narrow), with a caption for screen readers and a header per column.
import type { ReactNode } from "react";
import { t } from "../i18n";
import "./messages";

/** A list as a table (a row per item), or a line saying it is loading or empty. */
export function AdminTable<T>({
  caption,
  columns,
  rows,
  empty,
  children,
}: {
  caption: string;
  columns: readonly string[];
  rows: readonly T[] | null;
  empty: string;
  children: (row: T) => ReactNode;
}) {
  if (rows === null) return <p aria-busy="true">{t("admin.loading")}</p>;
  if (rows.length === 0) return <p className="empty">{empty}</p>;
  return (
    <div className="admin-table-wrap">
      <table className="admin-table">
        <caption className="visually-hidden">{caption}</caption>
        <thead>
          <tr>
            {columns.map((column) => (
              <th scope="col" key={column}>
                {column}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>{rows.map(children)}</tbody>
      </table>
    </div>
  );
}
