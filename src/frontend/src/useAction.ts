// One request a person started (a button, a form): busy while it runs, the API's refusal kept
// to show where they are looking. What they typed stays in their own state either way.
import { useCallback, useState } from "react";

export interface Action {
  busy: boolean;
  problem: unknown;
  setProblem: (problem: unknown) => void;
  /** Run `work`; answers true when it went through, false when it was refused. */
  run: (work: () => Promise<unknown>) => Promise<boolean>;
}

export function useAction(): Action {
  const [busy, setBusy] = useState(false);
  const [problem, setProblem] = useState<unknown>(null);
  const run = useCallback(async (work: () => Promise<unknown>) => {
    setBusy(true);
    setProblem(null);
    try {
      await work();
      return true;
    } catch (failure) {
      setProblem(failure);
      return false;
    } finally {
      setBusy(false);
    }
  }, []);
  return { busy, problem, setProblem, run };
}
