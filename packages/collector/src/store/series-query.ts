import { setImmediate as nextTurn, setTimeout as sleep } from 'node:timers/promises';
import type { ThrottledLog } from '@ximp/shared';
import type { Database } from './database';
import { withNodeLabels } from './node-labels';

/** One series of a query answer as the API shows it. */
export interface SeriesPoints {
  /** The stored labels plus `instance` (the node) and `job` ("ximp"), which replace stored ones of those names. */
  labels: Record<string, string>;
  /** `[timestamp ms, value]`, oldest first. */
  points: [number, number][];
}

/** One series of a scan: `count` points packed as `[t0, v0, t1, v1, ...]` in `data`. */
export interface ScannedSeries {
  labels: Record<string, string>;
  count: number;
  data: Float64Array;
}

export interface SeriesQueryOptions {
  /** Points one query may return (`api.max_query_points`). */
  maxPoints: number;
  /** Time span one query may cover (`api.max_query_range`); checked by the caller, kept here for it. */
  maxRangeMs: number;
  /** Queries scanning or sending at once (`api.max_concurrent_queries`); more are refused as busy. */
  maxConcurrent: number;
  /** Longest a scan runs before it gives the event loop a turn (default 5 ms). */
  sliceMs?: number;
  /** Rows read per statement (default 128). */
  pageRows?: number;
  /** Index entries counted per step when estimating a query's size (default 32 768). */
  countStepRows?: number;
  /**
   * Share of the event loop's time queries may take (default 0.5): after a slice of d ms the next
   * one waits about d × (1 − share) / share, so ingest keeps the rest even on a busy machine.
   */
  loopShare?: number;
  /** Refusals are logged here (one line per kind per minute). */
  refusals?: ThrottledLog;
}

export const DEFAULT_SLICE_MS = 5;
export const DEFAULT_PAGE_ROWS = 128;
export const DEFAULT_COUNT_STEP_ROWS = 32_768;
export const DEFAULT_LOOP_SHARE = 0.5;
/** The longest rest between slices, however long a slice took (preempted by the OS, say). */
const MAX_REST_MS = 50;

export type SeriesReadResult =
  /** The slot stays taken until `release()`: call it once the answer is sent (or abandoned). */
  | { kind: 'ok'; series: ScannedSeries[]; points: number; rows: number; release(): void }
  /** `estimate`: the points the query would return, at least (read, or rows counted times points per row seen). */
  | { kind: 'too_many_points'; limit: number; estimate: number }
  | { kind: 'busy'; limit: number };

type ScanResult = Exclude<SeriesReadResult, { kind: 'ok' | 'busy' }> | { kind: 'ok'; series: ScannedSeries[]; points: number; rows: number };

type Statements = ReturnType<typeof prepareStatements>;

/** [timestamp_ms, stream_id, sequence, series_ids, vals], as `raw` rows. */
type PageRow = [number, string, number, Buffer, Buffer];

function prepareStatements(db: Database) {
  return {
    seriesOfMetric: db.prepare('SELECT id, labels_json FROM series WHERE node = ? AND name = ? ORDER BY labels_json'),
    // Keyset paging in the order of one full scan: rows after (timestamp, stream, sequence).
    // No statement stays open between pages, so commits run in between on the same connection.
    page: db
      .prepare(
        `SELECT timestamp_ms, stream_id, sequence, series_ids, vals FROM batches
          WHERE node = ? AND timestamp_ms >= ? AND timestamp_ms <= ?
            AND (timestamp_ms > ? OR (stream_id, sequence) > (?, ?))
          ORDER BY timestamp_ms, stream_id, sequence LIMIT ?`,
      )
      .raw(true),
    // The timestamp of the Nth row after a time: bounds one counting step on the (node, time) index.
    nthTimeAfter: db
      .prepare('SELECT timestamp_ms FROM batches WHERE node = ? AND timestamp_ms > ? AND timestamp_ms <= ? ORDER BY timestamp_ms LIMIT 1 OFFSET ?')
      .pluck(true),
    countBetween: db.prepare('SELECT count(*) FROM batches WHERE node = ? AND timestamp_ms > ? AND timestamp_ms <= ?').pluck(true),
    // The first rows of one step, in the (node, time) index's own order: no sort, stops at LIMIT.
    stepRows: db
      .prepare('SELECT timestamp_ms, series_ids, vals FROM batches WHERE node = ? AND timestamp_ms >= ? AND timestamp_ms < ? ORDER BY timestamp_ms LIMIT ?')
      .raw(true),
  };
}

/** The most steps one stepped read may cover ((to − from) / step), as the dashboard contract says. */
export const MAX_STEPS = 11_000;
/** The shortest step of a stepped read. */
export const MIN_STEP_MS = 1000;
/**
 * Rows a stepped read looks at per step for one holding the metric: the first row after a
 * boundary may be another stream's (the collector's own `up` batches, an agent's second stream).
 */
export const ROWS_PER_STEP = 4;


/**
 * One scan of a metric on a node over [fromMs, toMs], read a page at a time in the order the rows
 * sort by (timestamp, stream, sequence), so a paged scan returns what one full scan would.
 */
class SeriesScan {
  readonly wanted = new Map<number, ScannedSeries>();
  points = 0;
  rows = 0;
  done = false;
  private cursor: { ts: number; stream: string; sequence: number };

  constructor(
    private readonly stmts: Statements,
    private readonly node: string,
    metric: string,
    fromMs: number,
    private readonly toMs: number,
  ) {
    for (const s of stmts.seriesOfMetric.all(node, metric) as { id: number; labels_json: string }[]) {
      this.wanted.set(s.id, { labels: withNodeLabels(labelsFromJson(s.labels_json), node), count: 0, data: new Float64Array(16) });
    }
    // Sequences are >= 0, so (any stream, -1) sorts before every row at fromMs.
    this.cursor = { ts: fromMs, stream: '', sequence: -1 };
    if (this.wanted.size === 0 || fromMs > toMs) this.done = true;
  }

  /** The time of the last row read: counting the rest starts after it. */
  get lastTime(): number {
    return this.cursor.ts;
  }

  /**
   * Reads one page of up to `pageRows` rows; stops reading points once there are more than
   * `maxPoints` (one page of wide rows could otherwise gather millions before the caller checks).
   */
  step(pageRows: number, maxPoints = Infinity): void {
    if (this.done) return;
    const c = this.cursor;
    const page = this.stmts.page.all(this.node, c.ts, this.toMs, c.ts, c.stream, c.sequence, pageRows) as PageRow[];
    for (const [ts, , , idBlob, valBlob] of page) {
      const ids = uint32View(idBlob);
      const vals = float64View(valBlob);
      if (!ids || !vals || ids.length !== vals.length) continue; // a damaged row never breaks a query
      for (let i = 0; i < ids.length; i++) {
        const s = this.wanted.get(ids[i]);
        if (s) {
          push(s, ts, vals[i]);
          this.points++;
        }
      }
      if (this.points > maxPoints) return; // the caller refuses: where the cursor stands no longer matters
    }
    this.rows += page.length;
    if (page.length > 0) {
      const last = page[page.length - 1];
      this.cursor = { ts: last[0], stream: last[1], sequence: last[2] };
    }
    if (page.length < pageRows) this.done = true;
  }

  /** The series with at least one point, in label order. */
  result(): ScannedSeries[] {
    return Array.from(this.wanted.values()).filter((s) => s.count > 0);
  }
}

/**
 * A stepped scan: per step [from + i·step, from + (i+1)·step) ∩ [from, to], the first stored batch
 * (by the (node, time) index) that holds a series of the metric, looking at no more than
 * ROWS_PER_STEP rows; so the rows read are bounded by the steps, not by the range (15 days at
 * 1 h are 360 steps, whatever the agents' interval).
 */
class SteppedScan {
  readonly wanted = new Map<number, ScannedSeries>();
  points = 0;
  rows = 0;
  done = false;
  private next: number;

  constructor(
    private readonly stmts: Statements,
    private readonly node: string,
    metric: string,
    fromMs: number,
    private readonly toMs: number,
    private readonly stepMs: number,
  ) {
    for (const s of stmts.seriesOfMetric.all(node, metric) as { id: number; labels_json: string }[]) {
      this.wanted.set(s.id, { labels: withNodeLabels(labelsFromJson(s.labels_json), node), count: 0, data: new Float64Array(16) });
    }
    this.next = fromMs;
    if (this.wanted.size === 0 || fromMs > toMs) this.done = true;
  }

  /** Reads up to `steps` steps; stops once there are more than `maxPoints` points. */
  step(steps: number, maxPoints = Infinity): void {
    for (let n = 0; n < steps && !this.done; n++) {
      const start = this.next;
      const end = Math.min(start + this.stepMs, this.toMs + 1);
      const page = this.stmts.stepRows.all(this.node, start, end, ROWS_PER_STEP) as [number, Buffer, Buffer][];
      for (const [ts, idBlob, valBlob] of page) {
        this.rows++;
        const ids = uint32View(idBlob);
        const vals = float64View(valBlob);
        if (!ids || !vals || ids.length !== vals.length) continue;
        let found = false;
        for (let i = 0; i < ids.length; i++) {
          const s = this.wanted.get(ids[i]);
          if (s) {
            push(s, ts, vals[i]);
            this.points++;
            found = true;
          }
        }
        if (found) break;
      }
      if (this.points > maxPoints) return;
      this.next = end;
      if (end > this.toMs) this.done = true;
    }
  }

  result(): ScannedSeries[] {
    return Array.from(this.wanted.values()).filter((s) => s.count > 0);
  }
}

/**
 * Series of one metric on one node over a time range, bounded (SPEC §10, docs/configuration.md
 * `api.max_query_*`): at most `maxPoints` points, at most `maxConcurrent` queries at once, and
 * the scan runs in slices of about `sliceMs` with a turn of the event loop between them, so ingest
 * keeps its latency while a viewer reads days of data. Slices of all running queries take turns:
 * at most one slice runs per turn of the event loop, however many queries run.
 *
 * A query too large is refused before it is read: after its first slice the points per row seen
 * so far, times the rows in range (counted on the index, a step at a time), estimates its size.
 * The cap is enforced exactly while reading as well.
 */
export class SeriesQuery {
  readonly limits: { maxPoints: number; maxRangeMs: number; maxConcurrent: number };
  private readonly sliceMs: number;
  private readonly pageRows: number;
  private readonly countStepRows: number;
  private readonly restPerSliceMs: number;
  private readonly stmts: Statements;
  private active = 0;
  private turns: Promise<unknown> = Promise.resolve();
  private counts = { queries: 0, refusedBusy: 0, refusedTooLarge: 0, longestSliceMs: 0, longestSliceCpuMs: 0 };

  constructor(
    db: Database,
    private readonly options: SeriesQueryOptions,
  ) {
    this.limits = { maxPoints: options.maxPoints, maxRangeMs: options.maxRangeMs, maxConcurrent: Math.max(1, options.maxConcurrent) };
    this.sliceMs = options.sliceMs ?? DEFAULT_SLICE_MS;
    this.pageRows = Math.max(1, options.pageRows ?? DEFAULT_PAGE_ROWS);
    this.countStepRows = Math.max(1, options.countStepRows ?? DEFAULT_COUNT_STEP_ROWS);
    const share = Math.min(1, Math.max(0.05, options.loopShare ?? DEFAULT_LOOP_SHARE));
    this.restPerSliceMs = (1 - share) / share;
    this.stmts = prepareStatements(db);
  }

  /**
   * Queries answered, refused, and the longest synchronous slice seen: wall time (ms), and the
   * process's CPU time in it (ms), which a busy machine's scheduler does not inflate.
   */
  get counters(): { queries: number; refusedBusy: number; refusedTooLarge: number; longestSliceMs: number; longestSliceCpuMs: number } {
    return { ...this.counts };
  }

  /** Queries holding a slot (scanning, or their answer not yet sent). */
  get running(): number {
    return this.active;
  }

  /**
   * Every series of `metric` on `node` with its points in [fromMs, toMs]; series without points
   * are left out. Labels carry `instance` and `job` as a remote store's would (node-labels.ts).
   * With `stepMs`, at most one batch per step is read (SteppedScan); the caller bounds the steps.
   */
  async read(node: string, metric: string, fromMs: number, toMs: number, stepMs?: number): Promise<SeriesReadResult> {
    if (this.active >= this.limits.maxConcurrent) {
      this.counts.refusedBusy++;
      this.options.refusals?.report('warn', 'series_query_busy', { limit: this.limits.maxConcurrent }, 'series query refused: too many at once');
      return { kind: 'busy', limit: this.limits.maxConcurrent };
    }
    this.active++;
    let released = false;
    const release = (): void => {
      if (released) return;
      released = true;
      this.active--;
    };
    try {
      const result = stepMs === undefined ? await this.scan(node, metric, fromMs, toMs) : await this.scanStepped(node, metric, fromMs, toMs, stepMs);
      if (result.kind !== 'ok') {
        release();
        this.counts.refusedTooLarge++;
        this.options.refusals?.report('info', 'series_query_too_large', { node, metric, limit: result.limit }, 'series query refused: too many points');
        return result;
      }
      this.counts.queries++;
      return { ...result, release };
    } catch (err) {
      release();
      throw err;
    }
  }

  private async scan(node: string, metric: string, fromMs: number, toMs: number): Promise<ScanResult> {
    const maxPoints = this.limits.maxPoints;
    await this.turn();
    const scan = new SeriesScan(this.stmts, node, metric, fromMs, toMs);
    let estimated = false;
    while (!scan.done) {
      const slice = this.sliceStart();
      do {
        scan.step(this.pageRows, maxPoints);
        if (scan.points > maxPoints) return { kind: 'too_many_points', limit: maxPoints, estimate: scan.points };
      } while (!scan.done && performance.now() - slice.wall < this.sliceMs);
      const rest = this.noteSlice(slice);
      if (!estimated && !scan.done && scan.points > 0) {
        estimated = true;
        const estimate = await this.estimate(node, scan, toMs, maxPoints);
        if (estimate > maxPoints) return { kind: 'too_many_points', limit: maxPoints, estimate };
      }
      if (!scan.done) await this.turn(rest);
    }
    return { kind: 'ok', series: scan.result(), points: scan.points, rows: scan.rows };
  }

  /**
   * At most one batch per step (SteppedScan), in slices like `scan`. No estimate is needed: the
   * rows read are bounded by the steps; the points cap still holds, exactly, while reading.
   */
  private async scanStepped(node: string, metric: string, fromMs: number, toMs: number, stepMs: number): Promise<ScanResult> {
    const maxPoints = this.limits.maxPoints;
    await this.turn();
    const scan = new SteppedScan(this.stmts, node, metric, fromMs, toMs, Math.max(MIN_STEP_MS, stepMs));
    while (!scan.done) {
      const slice = this.sliceStart();
      do {
        scan.step(Math.max(1, Math.floor(this.pageRows / ROWS_PER_STEP)), maxPoints);
        if (scan.points > maxPoints) return { kind: 'too_many_points', limit: maxPoints, estimate: scan.points };
      } while (!scan.done && performance.now() - slice.wall < this.sliceMs);
      const rest = this.noteSlice(slice);
      if (!scan.done) await this.turn(rest);
    }
    return { kind: 'ok', series: scan.result(), points: scan.points, rows: scan.rows };
  }

  /**
   * Points per row read so far times the rows in range, counting rows only until the estimate
   * passes the cap (so the count costs no more than the scan it spares).
   */
  private async estimate(node: string, scan: SeriesScan, toMs: number, maxPoints: number): Promise<number> {
    const perRow = scan.points / scan.rows;
    const enough = Math.floor(maxPoints / perRow) + 1;
    let rows = scan.rows;
    let after = scan.lastTime;
    let rest = 0;
    while (rows < enough) {
      await this.turn(rest);
      const slice = this.sliceStart();
      const nth = this.stmts.nthTimeAfter.get(node, after, toMs, this.countStepRows - 1) as number | undefined;
      const upTo = nth ?? toMs;
      rows += this.stmts.countBetween.get(node, after, upTo) as number;
      rest = this.noteSlice(slice);
      if (nth === undefined) break;
      after = upTo;
    }
    return Math.round(rows * perRow);
  }

  /**
   * Resolves on a later turn of the event loop, after every slice that asked before it, and
   * `restMs` after the slice before it ended.
   */
  private turn(restMs = 0): Promise<unknown> {
    const mine = this.turns.then(() => (restMs >= 1 ? sleep(Math.min(MAX_REST_MS, restMs)) : nextTurn()));
    this.turns = mine;
    return mine;
  }

  private sliceStart(): { wall: number; cpu: NodeJS.CpuUsage } {
    return { wall: performance.now(), cpu: process.cpuUsage() };
  }

  /** Records a slice's duration; returns the rest the next slice should leave the loop. */
  private noteSlice(start: { wall: number; cpu: NodeJS.CpuUsage }): number {
    const wallMs = performance.now() - start.wall;
    const cpu = process.cpuUsage(start.cpu);
    const cpuMs = (cpu.user + cpu.system) / 1000;
    if (wallMs > this.counts.longestSliceMs) this.counts.longestSliceMs = wallMs;
    if (cpuMs > this.counts.longestSliceCpuMs) this.counts.longestSliceCpuMs = cpuMs;
    return wallMs * this.restPerSliceMs;
  }
}

/**
 * The same answer in one synchronous, unbounded scan. Only for tests and tools that read a store
 * they own; the API uses SeriesQuery.
 */
export function readSeries(db: Database, node: string, metric: string, fromMs: number, toMs: number): SeriesPoints[] {
  const scan = new SeriesScan(prepareStatements(db), node, metric, fromMs, toMs);
  while (!scan.done) scan.step(DEFAULT_PAGE_ROWS * 16);
  return scan.result().map(toSeriesPoints);
}

/** A scanned series as `{labels, points: [[ms, value], ...]}`. */
export function toSeriesPoints(s: ScannedSeries): SeriesPoints {
  const points = new Array<[number, number]>(s.count);
  for (let i = 0; i < s.count; i++) points[i] = [s.data[2 * i], s.data[2 * i + 1]];
  return { labels: s.labels, points };
}

function push(s: ScannedSeries, ts: number, value: number): void {
  if (2 * s.count + 2 > s.data.length) {
    const grown = new Float64Array(s.data.length * 2);
    grown.set(s.data);
    s.data = grown;
  }
  s.data[2 * s.count] = ts;
  s.data[2 * s.count + 1] = value;
  s.count++;
}

/** A typed view of a blob; copies only when the blob is not aligned for the element size. */
function uint32View(buf: Buffer): Uint32Array | null {
  if (buf.byteLength % 4 !== 0) return null;
  if (buf.byteOffset % 4 === 0) return new Uint32Array(buf.buffer, buf.byteOffset, buf.byteLength / 4);
  return new Uint32Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength));
}

function float64View(buf: Buffer): Float64Array | null {
  if (buf.byteLength % 8 !== 0) return null;
  if (buf.byteOffset % 8 === 0) return new Float64Array(buf.buffer, buf.byteOffset, buf.byteLength / 8);
  return new Float64Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength));
}

/** Object.fromEntries defines own properties, so a `__proto__` label stays a plain label. */
function labelsFromJson(text: string): Record<string, string> {
  try {
    const pairs = JSON.parse(text) as [string, string][];
    return Object.fromEntries(pairs);
  } catch {
    return {};
  }
}
