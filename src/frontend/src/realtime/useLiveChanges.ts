// One WebSocket to /api/v1/ws following a subscription, reconnecting with the last cursor so
// nothing is missed (see docs/handover/real-time.md).
import { useEffect, useRef, useState } from "react";

export interface Subscription {
  channel: "availability" | "staff" | "mine";
  clinic_ids?: string[];
  from?: string;
  to?: string;
  practitioner_ids?: string[];
}

/** A change as the feed sends it: slot.taken / slot.freed on availability, or an appointment. */
export interface Change {
  cursor: string;
  type: string;
  at: string;
  clinic_id?: string;
  practitioner_id?: string;
  room_id?: string | null;
  appointment_id?: string;
  status?: string;
  starts_at?: string;
  ends_at?: string;
  hold_expires_at?: string | null;
  from?: string;
  until?: string;
}

export type LiveState = "connecting" | "live" | "reconnecting" | "stopped";

// The server says not to retry these: sign in again, or follow something allowed.
const FINAL = new Set([4401, 4403, 4404]);

export function useLiveChanges(
  subscription: Subscription | null,
  onChange: (change: Change) => void,
): LiveState {
  const [state, setState] = useState<LiveState>("connecting");
  const handler = useRef(onChange);
  useEffect(() => {
    handler.current = onChange;
  });
  const key = subscription ? JSON.stringify(subscription) : null;

  useEffect(() => {
    if (key === null) return;
    const wanted = JSON.parse(key) as Subscription;
    let socket: WebSocket | null = null;
    let cursor: string | null = null;
    let retry = 500;
    let timer: ReturnType<typeof setTimeout> | undefined;
    let stopped = false;

    const open = () => {
      const scheme = window.location.protocol === "https:" ? "wss" : "ws";
      socket = new WebSocket(`${scheme}://${window.location.host}/api/v1/ws`);
      socket.onopen = () => {
        socket?.send(JSON.stringify({ type: "subscribe", ...wanted, since: cursor }));
      };
      socket.onmessage = (event: MessageEvent<string>) => {
        const message = JSON.parse(event.data) as {
          type: string;
          cursor?: string;
          change?: Change;
        };
        if (message.type === "change" && message.change) {
          cursor = message.change.cursor;
          handler.current(message.change);
        } else if (message.type === "heartbeat" || message.type === "subscribed") {
          cursor = message.cursor ?? cursor;
        } else if (message.type === "live") {
          cursor = message.cursor ?? cursor;
          retry = 500;
          setState("live");
        }
      };
      socket.onclose = (event) => {
        if (stopped) return;
        if (FINAL.has(event.code)) {
          setState("stopped");
          return;
        }
        setState("reconnecting");
        timer = setTimeout(open, retry);
        retry = Math.min(retry * 2, 10_000);
      };
    };

    setState("connecting");
    open();
    return () => {
      stopped = true;
      clearTimeout(timer);
      socket?.close(1000, "page left");
    };
  }, [key]);

  return state;
}
