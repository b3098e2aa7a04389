// The hold's countdown: minutes and seconds left until `deadline` (a local epoch in ms).
import { useEffect, useRef, useState } from "react";
import { t } from "../i18n";

export function remaining(deadline: number, now: number): number {
  return Math.max(0, Math.ceil((deadline - now) / 1000));
}

export function formatSeconds(seconds: number): string {
  const minutes = Math.floor(seconds / 60);
  return `${minutes}:${String(seconds % 60).padStart(2, "0")}`;
}

interface Props {
  deadline: number;
  onExpired: () => void;
  now?: () => number;
}

export function Countdown({ deadline, onExpired, now = Date.now }: Props) {
  const [left, setLeft] = useState(() => remaining(deadline, now()));
  const expired = useRef(false);
  const onExpiredRef = useRef(onExpired);
  useEffect(() => {
    onExpiredRef.current = onExpired;
  });

  useEffect(() => {
    expired.current = false;
    const tick = () => {
      const seconds = remaining(deadline, now());
      setLeft(seconds);
      if (seconds === 0 && !expired.current) {
        expired.current = true;
        onExpiredRef.current();
      }
    };
    tick();
    const timer = setInterval(tick, 250);
    return () => clearInterval(timer);
  }, [deadline, now]);

  // Screen readers hear the minutes as they pass and the last 30 seconds, not every tick.
  const announce = left === 30 || (left > 0 && left % 60 === 0);
  return (
    <div className={left <= 60 ? "countdown countdown-urgent" : "countdown"}>
      <span role="timer" aria-label={t("hold.countdownLabel")}>
        {formatSeconds(left)}
      </span>
      <span className="visually-hidden" aria-live="polite">
        {announce ? t("hold.countdown", { time: formatSeconds(left) }) : ""}
      </span>
    </div>
  );
}
