// Dates and date-times moved back by whole days (Retain Longitudinal Temporal Information with Modified
// Dates): intervals between them stay as they were. Times are left as they are.

const DAY_MS = 24 * 60 * 60 * 1000;

/** "YYYYMMDD" moved back `days` days; a value that is no such date comes back undefined. */
function shiftDate(date: string, days: number): string | undefined {
  const match = /^(\d{4})(\d{2})(\d{2})$/.exec(date);
  if (!match) return undefined;
  const time = Date.UTC(Number(match[1]), Number(match[2]) - 1, Number(match[3]));
  if (Number.isNaN(time)) return undefined;
  const shifted = new Date(time - days * DAY_MS);
  const year = shifted.getUTCFullYear();
  if (year < 1) return undefined;
  return `${String(year).padStart(4, '0')}${String(shifted.getUTCMonth() + 1).padStart(2, '0')}${String(shifted.getUTCDate()).padStart(2, '0')}`;
}

/**
 * One DA or DT value (several joined by backslash) moved back. A DT keeps its time and offset; a date
 * given only to the year or month is moved as its first day and cut back to the same precision.
 * Undefined when some value is not a date: the caller then removes it.
 */
export function shiftDates(value: string, vr: 'DA' | 'DT', days: number): string | undefined {
  const out: string[] = [];
  for (const single of value.split('\\')) {
    const text = single.trim();
    const digits = /^\d{4}(\d{2}(\d{2})?)?/.exec(text)?.[0];
    if (!digits || (vr === 'DA' && digits.length !== 8) || (vr === 'DA' && text.length !== 8)) return undefined;
    const shifted = shiftDate(digits + '0101'.slice(digits.length - 4), days);
    if (!shifted) return undefined;
    out.push(shifted.slice(0, digits.length) + text.slice(digits.length));
  }
  return out.join('\\');
}
