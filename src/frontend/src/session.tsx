// Who is signed in (GET /api/v1/session), shared by every page; it also carries the CSRF token.
import { createContext, useCallback, useContext, useEffect, useState, type ReactNode } from "react";
import { api, setCsrfToken, type Schemas } from "./api/client";

type Session = Schemas["SessionOut"];

interface SessionState {
  session: Session | null;
  loading: boolean;
  refresh: () => Promise<Session | null>;
}

const SessionContext = createContext<SessionState>({
  session: null,
  loading: true,
  refresh: async () => null,
});

export function SessionProvider({ children }: { children: ReactNode }) {
  const [session, setSession] = useState<Session | null>(null);
  const [loading, setLoading] = useState(true);

  const refresh = useCallback(async () => {
    const { data, response } = await api.GET("/api/v1/session");
    const current = response.ok && data ? data : null;
    setCsrfToken(current?.csrf_token ?? null);
    setSession(current);
    setLoading(false);
    return current;
  }, []);

  useEffect(() => {
    refresh().catch(() => setLoading(false));
  }, [refresh]);

  return (
    <SessionContext.Provider value={{ session, loading, refresh }}>
      {children}
    </SessionContext.Provider>
  );
}

export function useSession(): SessionState {
  return useContext(SessionContext);
}

/** Where Singpass sign-in starts; it comes back to `returnTo` (a path on this site). */
export function singpassLoginUrl(returnTo: string): string {
  return `/api/v1/auth/singpass/login?return_to=${encodeURIComponent(returnTo)}`;
}

export function isPatient(session: Session | null): boolean {
  return session?.kind === "patient";
}

export function isStaff(session: Session | null): boolean {
  return session?.kind === "staff" && session.stage === "full";
}
