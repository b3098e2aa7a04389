// What went wrong, in the API's own words, where the person is looking.
import { Problem } from "../api/client";
import { t } from "../i18n";

export function describeError(error: unknown): string {
  if (error instanceof Problem) return error.detail;
  if (error instanceof TypeError) return t("error.network");
  return t("error.generic");
}

export function ProblemMessage({ error }: { error: unknown }) {
  if (!error) return null;
  return (
    <p className="problem" role="alert">
      {describeError(error)}
    </p>
  );
}
