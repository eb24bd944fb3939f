// Dates as the UI shows them. Times from Rust are milliseconds since the epoch
// (UTC); they are shown as calendar dates in the device's time zone, or in
// `timeZone` when given (tests pin it).

/** Formats made so far: making one costs far more than using it (the task list formats thousands of dates). */
const formats = new Map<string, Intl.DateTimeFormat>();

/** An `Intl.DateTimeFormat` of `locale` for `options`, in `timeZone` when given (else the device's). */
function dateTimeFormat(locale: string, options: Intl.DateTimeFormatOptions, timeZone?: string): Intl.DateTimeFormat {
  const key = `${locale}|${timeZone ?? ""}|${JSON.stringify(options)}`;
  let format = formats.get(key);
  if (format === undefined) {
    format = new Intl.DateTimeFormat(locale, { ...options, ...(timeZone === undefined ? {} : { timeZone }) });
    formats.set(key, format);
  }
  return format;
}

const DATE: Intl.DateTimeFormatOptions = { year: "numeric", month: "short", day: "numeric" };
const TIME: Intl.DateTimeFormatOptions = { hour: "2-digit", minute: "2-digit", hourCycle: "h23" };

/** "2026年11月29日" (zh-CN), "29 Nov 2026" (en-GB). */
export function formatDate(ms: number, locale: string, timeZone?: string): string {
  return dateTimeFormat(locale, DATE, timeZone).format(ms);
}

/** "2026年11月29日 10:05" (zh-CN), "29 Nov 2026, 10:05" (en-GB). */
export function formatDateTime(ms: number, locale: string, timeZone?: string): string {
  return dateTimeFormat(locale, { ...DATE, ...TIME }, timeZone).format(ms);
}

/** The calendar day of `ms` in `timeZone`, counted in days since 1970-01-01. */
export function calendarDay(ms: number, timeZone?: string): number {
  const parts = dateTimeFormat("en-US", { year: "numeric", month: "numeric", day: "numeric" }, timeZone).formatToParts(ms);
  const part = (type: Intl.DateTimeFormatPartTypes): number =>
    Number(parts.find((p) => p.type === type)?.value);
  return Date.UTC(part("year"), part("month") - 1, part("day")) / 86_400_000;
}

/** "14:05" on the day of `nowMs`; "11月28日 14:05" (zh-CN), "28 Nov, 14:05" (en-GB) on another day. */
export function formatClock(ms: number, nowMs: number, locale: string, timeZone?: string): string {
  const sameDay = calendarDay(ms, timeZone) === calendarDay(nowMs, timeZone);
  return dateTimeFormat(locale, { ...(sameDay ? {} : { month: "short", day: "numeric" }), ...TIME }, timeZone).format(ms);
}

const DAY_MS = 86_400_000;
const HOUR_MS = 3_600_000;

/** The first millisecond of calendar day `day` (counted as `calendarDay` counts) in `timeZone`. */
export function startOfDay(day: number, timeZone?: string): number {
  // Local midnight lies within 15 hours of UTC midnight (offsets run from −12 to +14 hours). Search for the
  // first instant on `day` rather than reckon with offsets: it stays right where the clocks jump over midnight.
  let before = day * DAY_MS - 15 * HOUR_MS;
  let on = day * DAY_MS + 15 * HOUR_MS;
  while (on - before > 1) {
    const mid = Math.floor((before + on) / 2);
    if (calendarDay(mid, timeZone) >= day) on = mid;
    else before = mid;
  }
  return on;
}

/** The last millisecond of the calendar day `days` days after the day of `ms` (0: that same day), in `timeZone`. */
export function endOfDay(ms: number, days: number, timeZone?: string): number {
  return startOfDay(calendarDay(ms, timeZone) + days + 1, timeZone) - 1;
}

/** The `<input type=date>` value ("2026-11-29") of the day `ms` falls on in `timeZone`. */
export function dateInputValue(ms: number, timeZone?: string): string {
  return new Date(calendarDay(ms, timeZone) * DAY_MS).toISOString().slice(0, 10);
}

/**
 * The last millisecond of the day an `<input type=date>` value ("2026-11-29")
 * names, in `timeZone`; `null` for anything else.
 */
export function endOfDateInput(value: string, timeZone?: string): number | null {
  const match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(value.trim());
  if (match === null) return null;
  const [year, month, day] = [Number(match[1]), Number(match[2]), Number(match[3])];
  const midnight = new Date(Date.UTC(year, month - 1, day));
  if (midnight.getUTCMonth() !== month - 1 || midnight.getUTCDate() !== day) return null;
  return startOfDay(midnight.getTime() / DAY_MS + 1, timeZone) - 1;
}
