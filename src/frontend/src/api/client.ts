// The API client, typed from our OpenAPI document (src/api/schema.d.ts, generated).
import createClient, { type Middleware } from "openapi-fetch";
import type { components, paths } from "./schema";

export type Schemas = components["schemas"];

let csrfToken: string | null = null;

/** The session's CSRF token, sent on every state-changing request (see GET /api/v1/session). */
export function setCsrfToken(token: string | null): void {
  csrfToken = token;
}

const SAFE = new Set(["GET", "HEAD", "OPTIONS"]);

const csrf: Middleware = {
  onRequest({ request }) {
    if (csrfToken && !SAFE.has(request.method)) request.headers.set("X-CSRF-Token", csrfToken);
    return request;
  },
};

export const api = createClient<paths>({
  baseUrl: window.location.origin,
  credentials: "same-origin",
});
api.use(csrf);

/** An RFC 9457 problem from the API: a stable code and a sentence for people. */
export class Problem extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    readonly detail: string,
  ) {
    super(detail);
  }
}

interface Answer<T> {
  data?: T;
  error?: unknown;
  response: Response;
}

/** The answer's data, or a Problem carrying what the API said went wrong. */
export function unwrap<T>(answer: Answer<T>): T {
  if (answer.data !== undefined && answer.response.ok) return answer.data;
  const body = (answer.error ?? {}) as { code?: string; detail?: string };
  throw new Problem(
    answer.response.status,
    body.code ?? `http_${answer.response.status}`,
    body.detail ?? answer.response.statusText,
  );
}
