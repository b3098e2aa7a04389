// Message catalogues and formatting. English ships first; Chinese, Malay and Tamil catalogues
// follow the same keys (a Catalogue is checked against English's keys by the compiler).
import { en, type MessageKey } from "./en";

export type { MessageKey };

type Messages = Partial<Record<MessageKey, string>>;

// One catalogue per language; parts of the app loaded later add their own strings to it.
const catalogues: Record<string, Messages> = { en: { ...en } };
const language = "en";
export const locale = "en-SG";

/** Add the strings of a part of the app loaded on demand (the admin pages). */
export function addMessages(lang: string, messages: Messages): void {
  catalogues[lang] = { ...catalogues[lang], ...messages };
}

export function t(key: MessageKey, values: Record<string, string | number> = {}): string {
  const template = catalogues[language]?.[key] ?? key;
  return template.replace(/\{(\w+)\}/g, (whole, name: string) =>
    name in values ? String(values[name]) : whole,
  );
}

export function money(cents: number, currency = "SGD"): string {
  return new Intl.NumberFormat(locale, { style: "currency", currency }).format(cents / 100);
}

/** A time of day in the clinic's zone, e.g. "9:30 am". */
export function clock(iso: string, timeZone = "Asia/Singapore"): string {
  return new Intl.DateTimeFormat(locale, { hour: "numeric", minute: "2-digit", timeZone }).format(
    new Date(iso),
  );
}

/** A day, e.g. "Tue 1 Dec". */
export function dayLabel(day: string, style: "short" | "long" = "short"): string {
  const date = new Date(`${day}T00:00:00Z`);
  return new Intl.DateTimeFormat(locale, {
    weekday: style,
    day: "numeric",
    month: style === "short" ? "short" : "long",
    timeZone: "UTC",
  }).format(date);
}
