// Dates as the console shows them: always Beijing time (Asia/Shanghai, UTC+8 all
// year), whatever the browser's own zone. Times from the server are milliseconds
// since the epoch.

export const BEIJING = "Asia/Shanghai";
const BEIJING_OFFSET_MS = 8 * 3_600_000;
const DAY_MS = 86_400_000;

const formats = new Map<string, Intl.DateTimeFormat>();

function format(locale: string, kind: "date" | "minute" | "second"): Intl.DateTimeFormat {
  const key = `${locale}/${kind}`;
  let f = formats.get(key);
  if (f === undefined) {
    const options: Intl.DateTimeFormatOptions = { timeZone: BEIJING, year: "numeric", month: "2-digit", day: "2-digit" };
    if (kind !== "date") Object.assign(options, { hour: "2-digit", minute: "2-digit", hourCycle: "h23" });
    if (kind === "second") options.second = "2-digit";
    f = new Intl.DateTimeFormat(locale, options);
    formats.set(key, f);
  }
  return f;
}

/** "2026/12/03" (zh-CN), "03/12/2026" (en-GB), in Beijing time. */
export function formatDate(ms: number, locale: string): string {
  return format(locale, "date").format(ms);
}

/** "2026/12/03 16:05" (zh-CN), in Beijing time. */
export function formatDateTime(ms: number, locale: string): string {
  return format(locale, "minute").format(ms);
}

/** "2026/12/03 16:05:09" (zh-CN), in Beijing time. */
export function formatDateTimeSeconds(ms: number, locale: string): string {
  return format(locale, "second").format(ms);
}

/** The Beijing calendar day of `ms` as "YYYY-MM-DD". */
export function beijingDay(ms: number): string {
  return new Date(ms + BEIJING_OFFSET_MS).toISOString().slice(0, 10);
}

/** The first millisecond of Beijing day "YYYY-MM-DD"; `null` for anything else. */
export function beijingDayStart(day: string): number | null {
  const match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(day.trim());
  if (match === null) return null;
  const [year, month, date] = [Number(match[1]), Number(match[2]), Number(match[3])];
  const utc = Date.UTC(year, month - 1, date);
  const check = new Date(utc);
  if (check.getUTCMonth() !== month - 1 || check.getUTCDate() !== date) return null;
  return utc - BEIJING_OFFSET_MS;
}

/** The last millisecond of Beijing day "YYYY-MM-DD"; `null` for anything else. */
export function beijingDayEnd(day: string): number | null {
  const start = beijingDayStart(day);
  return start === null ? null : start + DAY_MS - 1;
}

/** "12.3 MB", "850 KB", "512 B". */
export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(0)} KB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}
