// Money as people type it (dollars and cents) and as the API keeps it (integer cents).

/** "45", "45.5", "1,234.50" or "$45.00" as cents; null when it is not an amount of money. */
export function parseMoney(text: string): number | null {
  const cleaned = text.trim().replace(/^\$/, "").replace(/,/g, "").trim();
  const match = /^(\d{1,9})(?:\.(\d{1,2}))?$/.exec(cleaned) ?? /^()\.(\d{1,2})$/.exec(cleaned);
  if (!match) return null;
  const dollars = Number(match[1] || "0");
  const cents = Number((match[2] ?? "").padEnd(2, "0"));
  return dollars * 100 + cents;
}

/** Cents as the money field shows them: 4500 -> "45.00". */
export function centsToText(cents: number): string {
  const whole = Math.floor(cents / 100);
  return `${whole}.${String(cents % 100).padStart(2, "0")}`;
}
