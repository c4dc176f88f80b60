import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import {
  ErrorCodes,
  FILE_HEADER_BYTES,
  XimpError,
  encodeRecord,
  fileHeader,
  fsyncDir,
  scanRecords,
  silentLogger,
  type Label,
  type Logger,
  type SeriesDefinition,
} from '@ximp/shared';
import { writeAll } from './spool-segment';

export const DEFAULT_MAX_SERIES = 1_000_000;
const SERIES_HEADER = fileHeader('XSERIE', 1);
// A definition is a name (<= 256 chars) and at most a few dozen labels; 1 MiB is far above any.
const MAX_DEFINITION_BYTES = 1024 * 1024;

export interface SeriesTableOptions {
  /** The append-only log, e.g. `<spool dir>/series.log`. */
  file: string;
  log?: Logger;
  /** fsync on flush (default true); tests may turn it off. */
  fsync?: boolean;
  /** More distinct series than this is an error (XIMP_ERR_SERIES_LIMIT). */
  maxSeries?: number;
}

/** How open() found the log: an intact one, none, or one whose header was unreadable. */
export type SeriesTableState = 'loaded' | 'created' | 'reset';

/**
 * The stream-local series ids: (name, sorted labels) -> 1, 2, 3, ... A batch references series
 * by these ids, so they must never change within a stream: new ids are persisted (append-only
 * checksummed records, one JSON `[id, name, [label, value, ...]]` each) before any batch that
 * uses them is spooled.
 *
 * idFor() is synchronous and buffers a new definition in memory; flush() makes every buffered
 * definition durable. Spool.append() flushes first, so a caller that spools through Spool never
 * needs to call flush() itself.
 */
export class SeriesTable {
  private readonly file: string;
  private readonly log: Logger;
  private readonly sync: boolean;
  readonly maxSeries: number;
  private readonly ids = new Map<string, number>();
  private readonly defs: (SeriesDefinition | undefined)[] = [undefined];
  private nextId = 1;
  private unflushed: Buffer[] = [];
  private handle: fsp.FileHandle | undefined;
  private size = 0;
  private flushing: Promise<void> = Promise.resolve();
  private closed = false;

  constructor(options: SeriesTableOptions) {
    this.file = options.file;
    this.log = options.log ?? silentLogger();
    this.sync = options.fsync ?? true;
    this.maxSeries = options.maxSeries ?? DEFAULT_MAX_SERIES;
  }

  /** Loads the log (repairing a torn tail) or creates it. */
  async open(): Promise<SeriesTableState> {
    let image: Buffer | undefined;
    try {
      image = await fsp.readFile(this.file);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw ioError('cannot read the series table', err);
    }
    let state: SeriesTableState = 'loaded';
    if (image === undefined) {
      state = 'created';
    } else if (image.length < FILE_HEADER_BYTES || !image.subarray(0, FILE_HEADER_BYTES).equals(SERIES_HEADER)) {
      this.log.warn({ file: this.file, bytes: image.length }, 'series table unreadable, starting a new one');
      state = 'reset';
    }
    try {
      if (state !== 'loaded' || image === undefined) {
        await this.create();
      } else {
        const end = this.load(image);
        this.handle = await fsp.open(this.file, 'r+');
        if (end < image.length) {
          await this.handle.truncate(end);
          if (this.sync) await this.handle.sync();
        }
        this.size = end;
      }
    } catch (err) {
      throw err instanceof XimpError ? err : ioError('cannot open the series table', err);
    }
    return state;
  }

  /** Number of series defined. */
  get count(): number {
    return this.ids.size;
  }

  /** The id of a series already in the table, or undefined. */
  lookup(name: string, labels: Readonly<Record<string, string>> | ReadonlyMap<string, string>): number | undefined {
    return this.ids.get(seriesKey(name, sortedLabels(labels)));
  }

  /**
   * The id of a series, assigning the next one (buffered until flush()) when it is new.
   * Labels are taken as a set: their order does not matter.
   */
  idFor(name: string, labels: Readonly<Record<string, string>> | ReadonlyMap<string, string>): number {
    const sorted = sortedLabels(labels);
    const key = seriesKey(name, sorted);
    const known = this.ids.get(key);
    if (known !== undefined) return known;
    if (this.closed) throw new XimpError(ErrorCodes.SPOOL_CLOSED, 'series table is closed');
    if (this.ids.size >= this.maxSeries) {
      throw new XimpError(ErrorCodes.SERIES_LIMIT, `more than ${this.maxSeries} distinct series in one stream`);
    }
    const id = this.nextId++;
    this.remember({ id, name, labels: sorted }, key);
    this.unflushed.push(encodeRecord(Buffer.from(definitionJson(id, name, sorted), 'utf8')));
    return id;
  }

  /** The definition behind an id, or undefined when the id was never assigned (or was lost). */
  definition(id: number): SeriesDefinition | undefined {
    return Number.isInteger(id) && id > 0 ? this.defs[id] : undefined;
  }

  /** True when idFor() assigned ids that are not yet durable. */
  get dirty(): boolean {
    return this.unflushed.length > 0;
  }

  /** Makes every definition handed out so far durable (write + fsync). */
  flush(): Promise<void> {
    const run = this.flushing.then(() => this.writeUnflushed());
    this.flushing = run.catch(() => undefined);
    return run;
  }

  /** Flushes and closes; idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    try {
      if (this.handle) await this.flush();
    } finally {
      const handle = this.handle;
      this.handle = undefined;
      await handle?.close();
    }
  }

  private async writeUnflushed(): Promise<void> {
    if (this.unflushed.length === 0) return;
    const handle = this.handle;
    if (!handle) throw new XimpError(ErrorCodes.SPOOL_CLOSED, 'series table is not open');
    const records = this.unflushed;
    this.unflushed = [];
    const data = Buffer.concat(records);
    try {
      await writeAll(handle, data, this.size);
      if (this.sync) await handle.sync();
      this.size += data.length;
    } catch (err) {
      // Cut a partial write back off so the log stays a clean sequence, and retry next flush.
      this.unflushed = records.concat(this.unflushed);
      await handle.truncate(this.size).catch(() => undefined);
      throw ioError('cannot write the series table', err);
    }
  }

  private async create(): Promise<void> {
    const handle = await fsp.open(this.file, 'w', 0o600);
    this.handle = handle;
    await writeAll(handle, SERIES_HEADER, 0);
    if (this.sync) {
      await handle.sync();
      await fsyncDir(path.dirname(this.file));
    }
    this.size = SERIES_HEADER.length;
  }

  /** Indexes the records of a file image; returns where its readable part ends. */
  private load(image: Buffer): number {
    const scan = scanRecords(image, FILE_HEADER_BYTES, 2, MAX_DEFINITION_BYTES);
    let skipped = scan.skippedAtEnd;
    for (const record of scan.records) {
      skipped += record.skippedBefore;
      const def = parseDefinition(record.payload);
      if (!def || this.defs[def.id] !== undefined || this.ids.size >= this.maxSeries) {
        skipped++;
        continue;
      }
      this.remember(def, seriesKey(def.name, def.labels));
      this.nextId = Math.max(this.nextId, def.id + 1);
    }
    if (skipped > 0) this.log.warn({ file: this.file, records: skipped }, 'series table records unreadable, skipped');
    if (scan.end < image.length) {
      this.log.warn({ file: this.file, bytes: image.length - scan.end }, 'series table tail repaired');
    }
    return scan.end;
  }

  private remember(def: SeriesDefinition, key: string): void {
    this.ids.set(key, def.id);
    this.defs[def.id] = def;
  }
}

function ioError(message: string, cause: unknown): XimpError {
  return new XimpError(ErrorCodes.SPOOL_IO, `${message}: ${(cause as Error).message}`, { cause });
}

function sortedLabels(labels: Readonly<Record<string, string>> | ReadonlyMap<string, string>): Label[] {
  // Object.keys sees an own `__proto__` key (null-prototype objects, JSON.parse results).
  const entries: [string, string][] =
    labels instanceof Map ? Array.from((labels as ReadonlyMap<string, string>).entries()) : Object.keys(labels).map((k) => [k, (labels as Record<string, string>)[k]]);
  entries.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  return entries.map(([name, value]) => ({ name, value: String(value) }));
}

function seriesKey(name: string, labels: Label[]): string {
  return JSON.stringify([name, ...labels.map((l) => [l.name, l.value])]);
}

function definitionJson(id: number, name: string, labels: Label[]): string {
  return JSON.stringify([id, name, labels.flatMap((l) => [l.name, l.value])]);
}

function parseDefinition(payload: Buffer): SeriesDefinition | undefined {
  let value: unknown;
  try {
    value = JSON.parse(payload.toString('utf8'));
  } catch {
    return undefined;
  }
  if (!Array.isArray(value) || value.length !== 3) return undefined;
  const [id, name, flat] = value as unknown[];
  if (!Number.isSafeInteger(id) || (id as number) < 1 || typeof name !== 'string') return undefined;
  if (!Array.isArray(flat) || flat.length % 2 !== 0 || !flat.every((x) => typeof x === 'string')) return undefined;
  const labels: Label[] = [];
  for (let i = 0; i < flat.length; i += 2) labels.push({ name: flat[i] as string, value: flat[i + 1] as string });
  return { id: id as number, name, labels };
}
