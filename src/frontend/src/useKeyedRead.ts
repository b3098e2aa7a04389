// What a page read for one key (a clinic and its days, a patient and a tab). Another key's data
// is never shown under this key's heading while its own is on the way, and an answer that
// arrives after the page moved on to another key is dropped.
import { useCallback, useEffect, useRef, useState } from "react";

export interface KeyedRead<T> {
  /** This key's data; null while its first read is on the way (or with no key). */
  value: T | null;
  problem: unknown;
  /** Read again for the current key (a live change, an action done). */
  reload: () => Promise<void>;
}

/** `read` must be memoised on what the key is made of: it is called again when it changes. */
export function useKeyedRead<T>(key: string | null, read: () => Promise<T>): KeyedRead<T> {
  const [loaded, setLoaded] = useState<{ key: string; value: T } | null>(null);
  const [problem, setProblem] = useState<unknown>(null);
  const current = useRef(key);

  const reload = useCallback(async () => {
    if (key === null) return;
    try {
      const value = await read();
      if (current.current !== key) return; // the page moved on while this was read
      setLoaded({ key, value });
      setProblem(null);
    } catch (failure) {
      setProblem(failure);
    }
  }, [key, read]);

  useEffect(() => {
    current.current = key;
    void reload();
  }, [key, reload]);

  return { value: loaded !== null && loaded.key === key ? loaded.value : null, problem, reload };
}
