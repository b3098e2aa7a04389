import { act, render, screen } from "@testing-library/react";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { Countdown, formatSeconds, remaining } from "./Countdown";

describe("the hold countdown", () => {
  beforeEach(() => {
    vi.useFakeTimers();
    vi.setSystemTime(new Date("2026-12-01T02:00:00Z"));
  });
  afterEach(() => vi.useRealTimers());

  it("counts down from 5:00 by the deadline, not by ticks", () => {
    const deadline = Date.now() + 300_000;
    render(<Countdown deadline={deadline} onExpired={() => undefined} />);
    expect(screen.getByRole("timer")).toHaveTextContent("5:00");

    act(() => vi.advanceTimersByTime(1_000));
    expect(screen.getByRole("timer")).toHaveTextContent("4:59");

    act(() => vi.advanceTimersByTime(239_000));
    expect(screen.getByRole("timer")).toHaveTextContent("1:00");
  });

  it("says it is ending when a minute is left and calls time once at zero", () => {
    const onExpired = vi.fn();
    const deadline = Date.now() + 61_000;
    const { container } = render(<Countdown deadline={deadline} onExpired={onExpired} />);
    expect(container.querySelector(".countdown-urgent")).toBeNull();

    act(() => vi.advanceTimersByTime(1_000));
    expect(container.querySelector(".countdown-urgent")).not.toBeNull();
    expect(screen.getByText(/We hold this time for you for 1:00/)).toBeInTheDocument();

    act(() => vi.advanceTimersByTime(60_000));
    expect(screen.getByRole("timer")).toHaveTextContent("0:00");
    act(() => vi.advanceTimersByTime(5_000));
    expect(onExpired).toHaveBeenCalledTimes(1);
  });

  it("expires at once for a deadline already past", () => {
    const onExpired = vi.fn();
    render(<Countdown deadline={Date.now() - 1} onExpired={onExpired} />);
    expect(onExpired).toHaveBeenCalledTimes(1);
    expect(screen.getByRole("timer")).toHaveTextContent("0:00");
  });

  it("rounds partial seconds up and formats minutes and seconds", () => {
    expect(remaining(10_001, 0)).toBe(11);
    expect(remaining(0, 5)).toBe(0);
    expect(formatSeconds(300)).toBe("5:00");
    expect(formatSeconds(59)).toBe("0:59");
  });
});
