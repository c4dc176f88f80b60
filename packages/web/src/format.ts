/** How times, sizes and durations read on every page. Times show in the browser's zone, UTC on hover. */

function toMs(t: string | number): number {
  return typeof t === 'number' ? t : Date.parse(t);
}

function pad(n: number, width = 2): string {
  return String(n).padStart(width, '0');
}

/** `2026-12-01 23:04:05` in the browser's time zone. */
export function localTime(t: string | number): string {
  const d = new Date(toMs(t));
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

/** `2026-12-01 22:04:05 UTC`. */
export function utcTime(t: string | number): string {
  return `${new Date(toMs(t)).toISOString().slice(0, 19).replace('T', ' ')} UTC`;
}

/** A `<time>` showing local time, with the UTC time in its title (or "—" for no time). */
export function timeCell(t: string | number | null | undefined): HTMLElement {
  if (t === null || t === undefined || Number.isNaN(toMs(t))) {
    const none = document.createElement('span');
    none.textContent = '—';
    return none;
  }
  const el = document.createElement('time');
  el.dateTime = new Date(toMs(t)).toISOString();
  el.title = utcTime(t);
  el.textContent = localTime(t);
  return el;
}

/** "12 s ago", "in 3 d" for `ms` (a Unix time) relative to `now`. */
export function relative(ms: number, now: number = Date.now()): string {
  const diff = now - ms;
  const text = duration(Math.abs(diff), 1);
  if (Math.abs(diff) < 1000) return 'just now';
  return diff >= 0 ? `${text} ago` : `in ${text}`;
}

const BYTE_UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];

/** 1536 → "1.5 KiB" (binary units, at most three significant digits). */
export function bytes(n: number): string {
  if (!Number.isFinite(n)) return String(n);
  const sign = n < 0 ? '-' : '';
  let v = Math.abs(n);
  let i = 0;
  while (v >= 1024 && i < BYTE_UNITS.length - 1) {
    v /= 1024;
    i++;
  }
  const digits = i === 0 || v >= 100 ? 0 : v >= 10 ? 1 : 2;
  return `${sign}${Number(v.toFixed(digits))} ${BYTE_UNITS[i]}`;
}

const SPANS: [string, number][] = [
  ['d', 86_400_000],
  ['h', 3_600_000],
  ['m', 60_000],
  ['s', 1000],
];

/** 93_000 → "1m 33s"; `parts` limits how many units are shown; under a second, "250 ms". */
export function duration(ms: number, parts = 2): string {
  if (!Number.isFinite(ms)) return String(ms);
  const sign = ms < 0 ? '-' : '';
  let rest = Math.abs(ms);
  if (rest < 1000) return `${sign}${Math.round(rest)} ms`;
  const out: string[] = [];
  for (const [unit, size] of SPANS) {
    if (out.length >= parts) break;
    const n = Math.floor(rest / size);
    if (n > 0 || out.length > 0) {
      if (n > 0) out.push(`${n}${unit}`);
      rest -= n * size;
    }
  }
  return sign + out.join(' ');
}
