import type { Alias, Document, LineCounter, Node, Scalar, YAMLMap, YAMLSeq } from 'yaml';
import { formatDuration, parseDuration } from './duration';
import { ConfigError, type ConfigIssue } from './issues';
import { parseListenAddress, type ListenAddress } from './listen-address';
import { positionAt, type ParsedYaml } from './load-yaml';
import { formatSize, parseSize } from './size';
import { yamlLibrary } from './yaml-library';

// Node kinds, asked of the yaml library as loaded now: the agent unloads it between config reads.
const isAlias = (node: unknown): node is Alias => yamlLibrary().isAlias(node);
const isMap = (node: unknown): node is YAMLMap => yamlLibrary().isMap(node);
const isScalar = (node: unknown): node is Scalar => yamlLibrary().isScalar(node);
const isSeq = (node: unknown): node is YAMLSeq => yamlLibrary().isSeq(node);

/** 1-based line and column in the config file. */
export interface Position {
  line: number;
  col: number;
}

interface Entry {
  keyNode: Node;
  /** The value as written (an alias node stays an alias, so positions point where it is used). */
  valueNode: Node | null;
}

/** What all readers of one document share: where issues go and how to place them. */
class ReadContext {
  readonly issues: ConfigIssue[] = [];
  constructor(
    readonly file: string,
    readonly doc: Document.Parsed,
    readonly lineCounter: LineCounter,
  ) {}

  positionOf(node: Node | null | undefined, fallback: Position): Position {
    const start = node?.range?.[0];
    return start === undefined ? fallback : positionAt(this.lineCounter, start);
  }

  add(at: Position, path: string, message: string): void {
    this.issues.push({ file: this.file, line: at.line, col: at.col, path, message });
  }

  /** Follows an alias to the node it names; anything else is returned as is. */
  resolve(node: Node | null): Node | null {
    if (node !== null && isAlias(node)) return (node.resolve(this.doc) as Node | undefined) ?? null;
    return node;
  }
}

export interface StringOptions {
  required?: boolean;
  /**
   * Never echo the value in a message (tokens, client secrets, keys). A function decides per
   * value, e.g. a URL that may carry a password.
   */
  secret?: boolean | ((value: string) => boolean);
  /** Returns what was expected (e.g. `a wss:// URL`) when the value is not acceptable, else null. */
  check?: (value: string) => string | null;
}

export interface NumberOptions {
  required?: boolean;
  min?: number;
  max?: number;
}

export interface ListOptions {
  /** What one item should be, for messages: `a source name (cpu, memory, ...)`. */
  expected: string;
  /** Returns the item to keep (possibly normalized), or null when it is not acceptable. */
  parse?: (value: string) => string | null;
  /** Report an item that repeats an earlier one. */
  unique?: boolean;
  /** An empty list is an issue. */
  nonEmpty?: boolean;
}

export interface MapOptions {
  /** What a key names, for messages: `label`. */
  what: string;
  maxEntries?: number;
  /** Returns a problem with a key (e.g. `reserved label name`), else null. */
  checkKey?: (key: string) => string | null;
  /** Returns what a value should be when it is not acceptable, else null. */
  checkValue?: (value: string) => string | null;
}

const MAX_ECHO = 80;

/** How a node reads in "(actual: ...)". Strings are quoted; long ones are cut. */
function describeValue(node: Node | null): string {
  if (node === null) return 'null';
  if (isMap(node)) return 'a mapping';
  if (isSeq(node)) return 'a list';
  if (isScalar(node)) {
    const v = node.value;
    if (v === null) return 'null';
    if (typeof v === 'string') {
      return JSON.stringify(v.length > MAX_ECHO ? `${v.slice(0, MAX_ECHO)}...` : v);
    }
    if (typeof v === 'number' || typeof v === 'boolean') return node.source ?? String(v);
  }
  return 'a value of another kind';
}

/** The kind of a node without its value, for secrets. */
function describeKind(node: Node | null): string {
  if (node === null) return 'null';
  if (isMap(node)) return 'a mapping';
  if (isSeq(node)) return 'a list';
  if (isScalar(node)) {
    const v = node.value;
    if (v === null) return 'null';
    if (typeof v === 'string') return 'a string';
    if (typeof v === 'number') return 'a number';
    if (typeof v === 'boolean') return 'a boolean';
  }
  return 'a value of another kind';
}

function isNull(node: Node | null): boolean {
  return node === null || (isScalar(node) && node.value === null);
}

/**
 * A strict reader over one YAML mapping. It reports unknown keys as it is made, and every
 * accessor reports wrong types and bad values instead of throwing, so one pass collects every
 * issue of the file. Accessors return undefined for a key that is absent or null (the caller
 * applies its default) and for a value that was reported.
 */
export class ConfigReader {
  private readonly entries = new Map<string, Entry>();

  private constructor(
    private readonly ctx: ReadContext,
    /** Dotted path of this mapping, '' at the root. */
    readonly path: string,
    /** Where "missing key" issues point: this mapping, or where it would have been. */
    readonly position: Position,
    map: Node | null,
    keys: readonly string[],
    /** True when the mapping itself was reported (e.g. it was a list); missing keys are then not. */
    private readonly broken = false,
  ) {
    if (map === null || !isMap(map)) return;
    for (const pair of map.items) {
      const keyNode = pair.key as Node | null;
      const at = ctx.positionOf(keyNode, position);
      if (keyNode === null || !isScalar(keyNode) || typeof keyNode.value !== 'string') {
        ctx.add(at, path, `keys must be strings (actual: ${describeValue(keyNode)})`);
        continue;
      }
      const key = keyNode.value;
      if (!keys.includes(key)) {
        ctx.add(at, this.pathOf(key), keys.length === 0 ? 'unknown key (this mapping takes no keys)' : `unknown key (expected one of: ${keys.join(', ')})`);
        continue;
      }
      this.entries.set(key, { keyNode, valueNode: (pair.value as Node | null) ?? null });
    }
  }

  /**
   * The reader of a document's top-level mapping. An empty document is an empty mapping.
   * `keys` are the keys allowed at the top level.
   */
  static root(parsed: ParsedYaml, keys: readonly string[]): ConfigReader {
    const ctx = new ReadContext(parsed.file, parsed.doc, parsed.lineCounter);
    const contents = ctx.resolve((parsed.doc.contents as Node | null) ?? null);
    const position = ctx.positionOf(contents, { line: 1, col: 1 });
    if (!isNull(contents) && !isMap(contents)) {
      ctx.add(position, '', `expected a mapping at the top level (actual: ${describeValue(contents)})`);
      return new ConfigReader(ctx, '', position, null, keys, true);
    }
    return new ConfigReader(ctx, '', position, contents, keys);
  }

  /** Every issue found so far by this reader and all readers made from it. */
  get issues(): readonly ConfigIssue[] {
    return this.ctx.issues;
  }

  /** Throws one ConfigError listing every issue, if there is any. */
  throwIfIssues(): void {
    if (this.ctx.issues.length > 0) throw new ConfigError(this.ctx.issues);
  }

  pathOf(key: string): string {
    return this.path === '' ? key : `${this.path}.${key}`;
  }

  /** True when the key is present with a non-null value. */
  has(key: string): boolean {
    const entry = this.entries.get(key);
    return entry !== undefined && !isNull(this.ctx.resolve(entry.valueNode));
  }

  /** Position of a key's value (or of the key when the value is empty), for custom issues. */
  positionOfKey(key: string): Position {
    const entry = this.entries.get(key);
    if (entry === undefined) return this.position;
    const node = isNull(entry.valueNode) ? entry.keyNode : entry.valueNode;
    return this.ctx.positionOf(node, this.position);
  }

  /** Adds an issue at a key's value, with the key's path. Callers never pass secret values. */
  report(key: string, message: string): void {
    this.ctx.add(this.positionOfKey(key), this.pathOf(key), message);
  }

  /** Adds an issue for a required key that is absent: at this mapping (or at the key if empty). */
  reportMissing(key: string, message = 'required key is missing'): void {
    if (this.broken) return;
    this.ctx.add(this.positionOfKey(key), this.pathOf(key), message);
  }

  /** The nested mapping at `key` (an empty one when absent or null); `keys` are its allowed keys. */
  section(key: string, keys: readonly string[]): ConfigReader {
    const entry = this.entries.get(key);
    const path = this.pathOf(key);
    if (entry === undefined) return new ConfigReader(this.ctx, path, this.position, null, keys, this.broken);
    const node = this.ctx.resolve(entry.valueNode);
    if (isNull(node)) {
      return new ConfigReader(this.ctx, path, this.ctx.positionOf(entry.keyNode, this.position), null, keys);
    }
    const at = this.ctx.positionOf(entry.valueNode, this.position);
    if (!isMap(node)) {
      this.ctx.add(at, path, `expected a mapping (actual: ${describeValue(node)})`);
      return new ConfigReader(this.ctx, path, at, null, keys, true);
    }
    return new ConfigReader(this.ctx, path, at, node, keys);
  }

  /**
   * A list of mappings at `key` (e.g. one per remote store): one reader per item, its path
   * `key[i]`; an item that is not a mapping is reported. Absent or null = an empty list.
   */
  sectionList(key: string, keys: readonly string[]): ConfigReader[] {
    const found = this.scalar(key, false);
    if (found === undefined) return [];
    if (!isSeq(found.node)) {
      this.wrongType(key, 'a list of mappings', found.node);
      return [];
    }
    const fallback = this.positionOfKey(key);
    return found.node.items.map((raw, i) => {
      const item = this.ctx.resolve(raw as Node | null);
      const at = this.ctx.positionOf(raw as Node | null, fallback);
      const path = `${this.pathOf(key)}[${i}]`;
      if (item === null || !isMap(item)) {
        this.ctx.add(at, path, `expected a mapping (actual: ${describeValue(item)})`);
        return new ConfigReader(this.ctx, path, at, null, keys, true);
      }
      return new ConfigReader(this.ctx, path, at, item, keys);
    });
  }

  /** The scalar value node at `key`, or undefined when absent/null (reported if required). */
  private scalar(key: string, required: boolean | undefined): { node: Node; value: unknown } | undefined {
    const entry = this.entries.get(key);
    const node = entry === undefined ? null : this.ctx.resolve(entry.valueNode);
    if (isNull(node)) {
      if (required) this.reportMissing(key, entry === undefined ? 'required key is missing' : 'required key has no value');
      return undefined;
    }
    return { node: node as Node, value: isScalar(node) ? node.value : undefined };
  }

  private wrongType(key: string, expected: string, node: Node, secret = false): undefined {
    const actual = secret ? describeKind(node) : describeValue(node);
    this.report(key, `expected ${expected} (actual: ${actual})`);
    return undefined;
  }

  /** A string value. With `secret`, messages name only the expected form, never the value. */
  string(key: string, opts: StringOptions = {}): string | undefined {
    const found = this.scalar(key, opts.required);
    if (found === undefined) return undefined;
    if (typeof found.value !== 'string') return this.wrongType(key, 'a string', found.node, opts.secret !== undefined && opts.secret !== false);
    const expected = opts.check?.(found.value) ?? null;
    if (expected !== null) {
      const secret = typeof opts.secret === 'function' ? opts.secret(found.value) : opts.secret === true;
      this.report(key, secret ? `expected ${expected}` : `expected ${expected} (actual: ${describeValue(found.node)})`);
      return undefined;
    }
    return found.value;
  }

  /** One of a fixed set of strings, e.g. a log level. */
  oneOf<T extends string>(key: string, values: readonly T[], opts: { required?: boolean } = {}): T | undefined {
    const text = this.string(key, {
      required: opts.required,
      check: (v) => ((values as readonly string[]).includes(v) ? null : `one of ${values.join(', ')}`),
    });
    return text as T | undefined;
  }

  /** `true` or `false` (YAML 1.2 core: not yes/no, not quoted). */
  boolean(key: string, opts: { required?: boolean } = {}): boolean | undefined {
    const found = this.scalar(key, opts.required);
    if (found === undefined) return undefined;
    if (typeof found.value !== 'boolean') return this.wrongType(key, 'true or false', found.node);
    return found.value;
  }

  /** A whole number within [min, max]. */
  integer(key: string, opts: NumberOptions = {}): number | undefined {
    const found = this.scalar(key, opts.required);
    if (found === undefined) return undefined;
    const v = found.value;
    if (typeof v !== 'number' || !Number.isSafeInteger(v)) return this.wrongType(key, 'an integer', found.node);
    if ((opts.min !== undefined && v < opts.min) || (opts.max !== undefined && v > opts.max)) {
      this.report(key, `expected an integer ${rangeText(opts, String)} (actual: ${describeValue(found.node)})`);
      return undefined;
    }
    return v;
  }

  /** A finite number (integer or decimal, e.g. `0.1` or `1e9`) within [min, max]. */
  number(key: string, opts: NumberOptions = {}): number | undefined {
    const found = this.scalar(key, opts.required);
    if (found === undefined) return undefined;
    const v = found.value;
    if (typeof v !== 'number' || !Number.isFinite(v)) return this.wrongType(key, 'a finite number', found.node);
    if ((opts.min !== undefined && v < opts.min) || (opts.max !== undefined && v > opts.max)) {
      this.report(key, `expected a number ${rangeText(opts, String)} (actual: ${describeValue(found.node)})`);
      return undefined;
    }
    return v;
  }

  /** A duration such as `10s` or `1h30m`, in milliseconds, within [min, max]. */
  duration(key: string, opts: NumberOptions = {}): number | undefined {
    return this.measured(key, opts, parseDuration, 'a duration like "10s"', 'a duration', formatDuration);
  }

  /** A size such as `64MiB`, in bytes, within [min, max]. */
  size(key: string, opts: NumberOptions = {}): number | undefined {
    return this.measured(key, opts, parseSize, 'a size like "64MiB"', 'a size', formatSize);
  }

  private measured(
    key: string,
    opts: NumberOptions,
    parse: (text: string) => number | null,
    example: string,
    noun: string,
    format: (n: number) => string,
  ): number | undefined {
    const found = this.scalar(key, opts.required);
    if (found === undefined) return undefined;
    const parsed = typeof found.value === 'string' ? parse(found.value) : null;
    if (parsed === null) return this.wrongType(key, example, found.node);
    if ((opts.min !== undefined && parsed < opts.min) || (opts.max !== undefined && parsed > opts.max)) {
      this.report(key, `expected ${noun} ${rangeText(opts, format)} (actual: ${describeValue(found.node)})`);
      return undefined;
    }
    return parsed;
  }

  /** A listen address `host:port` or `[ipv6]:port`. */
  listenAddress(key: string, opts: { required?: boolean } = {}): ListenAddress | undefined {
    const found = this.scalar(key, opts.required);
    if (found === undefined) return undefined;
    const parsed = typeof found.value === 'string' ? parseListenAddress(found.value) : null;
    if (parsed === null) return this.wrongType(key, 'a listen address like "0.0.0.0:4443" or "[::1]:4443"', found.node);
    return parsed;
  }

  /** A list of strings; each bad item is reported at its own position as `key[i]`. */
  stringList(key: string, opts: ListOptions): string[] | undefined {
    const found = this.scalar(key, false);
    if (found === undefined) return undefined;
    if (!isSeq(found.node)) return this.wrongType(key, 'a list', found.node);
    const out: string[] = [];
    const fallback = this.positionOfKey(key);
    found.node.items.forEach((raw, i) => {
      const item = this.ctx.resolve(raw as Node | null);
      const at = this.ctx.positionOf(raw as Node | null, fallback);
      const path = `${this.pathOf(key)}[${i}]`;
      const value = item !== null && isScalar(item) ? item.value : undefined;
      const parsed = typeof value === 'string' ? (opts.parse ? opts.parse(value) : value) : null;
      if (parsed === null) {
        this.ctx.add(at, path, `expected ${opts.expected} (actual: ${describeValue(item)})`);
      } else if (opts.unique && out.includes(parsed)) {
        this.ctx.add(at, path, `duplicate entry (actual: ${describeValue(item)})`);
      } else {
        out.push(parsed);
      }
    });
    if (opts.nonEmpty && found.node.items.length === 0) {
      this.report(key, `expected at least one entry (actual: an empty list)`);
    }
    return out;
  }

  /** A mapping of string to string (null prototype); bad keys and values are reported one by one. */
  stringMap(key: string, opts: MapOptions): Record<string, string> | undefined {
    const found = this.scalar(key, false);
    if (found === undefined) return undefined;
    if (!isMap(found.node)) return this.wrongType(key, `a mapping of ${opts.what} names to values`, found.node);
    const out: Record<string, string> = Object.create(null) as Record<string, string>;
    const fallback = this.positionOfKey(key);
    const items = found.node.items;
    if (opts.maxEntries !== undefined && items.length > opts.maxEntries) {
      this.report(key, `expected at most ${opts.maxEntries} ${opts.what}s (actual: ${items.length})`);
    }
    for (const pair of items) {
      const keyNode = pair.key as Node | null;
      const keyAt = this.ctx.positionOf(keyNode, fallback);
      if (keyNode === null || !isScalar(keyNode) || typeof keyNode.value !== 'string') {
        this.ctx.add(keyAt, this.pathOf(key), `${opts.what} names must be strings (actual: ${describeValue(keyNode)})`);
        continue;
      }
      const name = keyNode.value;
      const path = `${this.pathOf(key)}.${name}`;
      const keyProblem = opts.checkKey?.(name) ?? null;
      if (keyProblem !== null) {
        this.ctx.add(keyAt, path, keyProblem);
        continue;
      }
      const rawValue = (pair.value as Node | null) ?? null;
      const valueNode = this.ctx.resolve(rawValue);
      const valueAt = this.ctx.positionOf(isNull(rawValue) ? keyNode : rawValue, keyAt);
      const value = valueNode !== null && isScalar(valueNode) ? valueNode.value : undefined;
      if (typeof value !== 'string') {
        const hint = typeof value === 'number' || typeof value === 'boolean' ? '; quote it' : '';
        this.ctx.add(valueAt, path, `expected a string${hint} (actual: ${describeValue(valueNode)})`);
        continue;
      }
      const expected = opts.checkValue?.(value) ?? null;
      if (expected !== null) {
        this.ctx.add(valueAt, path, `expected ${expected} (actual: ${describeValue(valueNode)})`);
        continue;
      }
      out[name] = value;
    }
    return out;
  }
}

function rangeText(opts: NumberOptions, format: (n: number) => string): string {
  if (opts.min !== undefined && opts.max !== undefined) return `from ${format(opts.min)} to ${format(opts.max)}`;
  if (opts.min !== undefined) return `of at least ${format(opts.min)}`;
  return `of at most ${format(opts.max ?? 0)}`;
}
