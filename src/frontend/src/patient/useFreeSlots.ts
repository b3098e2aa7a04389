// Free slots of a service on one day, kept current while shown: a time someone else takes
// disappears at once (the availability feed), a freed one brings a fresh search.
import { useCallback, useEffect, useState } from "react";
import { api, unwrap } from "../api/client";
import { overlaps, type Slot } from "../components/SlotPicker";
import { useLiveChanges, type Change, type LiveState } from "../realtime/useLiveChanges";

export interface FreeSlots {
  slots: Slot[] | null;
  problem: unknown;
  live: LiveState;
  search: () => Promise<void>;
}

export function useFreeSlots(
  serviceId: string,
  day: string,
  clinicIds: string[],
  clinicId = "",
  practitionerId = "",
): FreeSlots {
  const key = `${serviceId}|${day}|${clinicId}|${practitionerId}`;
  const [found, setFound] = useState<{ key: string; slots: Slot[] } | null>(null);
  const [problem, setProblem] = useState<unknown>(null);

  const search = useCallback(async () => {
    if (!serviceId) return;
    setProblem(null);
    try {
      const answer = unwrap(
        await api.GET("/api/v1/availability", {
          params: {
            query: {
              service_id: serviceId,
              from: day,
              to: day,
              clinic_id: clinicId || undefined,
              practitioner_id: practitionerId || undefined,
            },
          },
        }),
      );
      setFound({ key, slots: answer.slots });
    } catch (failure) {
      setProblem(failure);
      setFound({ key, slots: [] });
    }
  }, [key, serviceId, day, clinicId, practitionerId]);

  useEffect(() => {
    void search();
  }, [search]);

  const onChange = useCallback(
    (change: Change) => {
      if (change.type === "slot.taken" && change.practitioner_id && change.from && change.until) {
        const { practitioner_id: who, from, until } = change;
        setFound((current) =>
          current
            ? {
                ...current,
                slots: current.slots.filter((slot) => !overlaps(slot, who, from, until)),
              }
            : current,
        );
      } else if (change.type === "slot.freed") {
        void search(); // a freed time may fit this service: ask again rather than guess
      }
    },
    [search],
  );
  const watched = clinicId ? [clinicId] : clinicIds;
  const live = useLiveChanges(
    watched.length ? { channel: "availability", clinic_ids: watched, from: day, to: day } : null,
    onChange,
  );

  return { slots: found?.key === key ? found.slots : null, problem, live, search };
}
