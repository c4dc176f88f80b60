import { ErrorCodes, XimpError } from '@ximp/shared';
import type { Database } from '../store/database';
import { KEEP_SECRET, SECRET_FIELDS, type ChannelDefinition, type ChannelSettings, type ChannelType } from './channel-definition';
import type { SecretBox } from './secret-box';

/** A stored channel as readers see it: its secrets only by name. */
export interface StoredChannel {
  name: string;
  type: ChannelType;
  repeatIntervalMs: number | null;
  settings: ChannelSettings;
  /** The secret fields that hold a value. */
  secretFields: string[];
  createdMs: number;
  updatedMs: number;
}

/** What a create or update changed, for the audit entry (names of fields, never values). */
export interface ChannelChange {
  channel: StoredChannel;
  secretsChanged: string[];
}

interface Row {
  name: string;
  type: ChannelType;
  settings_json: string;
  sealed_json: string;
  created_ms: number;
  updated_ms: number;
}

interface StoredSettings {
  repeat_interval_ms: number | null;
  settings: ChannelSettings;
}

/**
 * Alert channels in the database. Their secrets (SMTP password, webhook signing secret, bearer
 * tokens) are stored sealed with the SecretBox, each bound to its channel and field; only
 * `secrets()` opens them, for a delivery. Throws XIMP_ERR_CONFLICT and XIMP_ERR_NOT_FOUND.
 */
export class ChannelStore {
  private readonly stmts;

  constructor(
    db: Database,
    private readonly box: SecretBox,
  ) {
    this.stmts = {
      list: db.prepare('SELECT * FROM alert_channels ORDER BY name'),
      get: db.prepare('SELECT * FROM alert_channels WHERE name = ?'),
      insert: db.prepare(
        `INSERT INTO alert_channels (name, type, settings_json, sealed_json, created_ms, updated_ms)
         VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (name) DO NOTHING`,
      ),
      update: db.prepare('UPDATE alert_channels SET type = ?, settings_json = ?, sealed_json = ?, updated_ms = ? WHERE name = ?'),
      remove: db.prepare('DELETE FROM alert_channels WHERE name = ?'),
    };
  }

  list(): StoredChannel[] {
    return (this.stmts.list.all() as Row[]).map(fromRow);
  }

  get(name: string): StoredChannel | null {
    const row = this.stmts.get.get(name) as Row | undefined;
    return row ? fromRow(row) : null;
  }

  create(def: ChannelDefinition, now: number): ChannelChange {
    const sealed = this.seal(def, {});
    const result = this.stmts.insert.run(def.name, def.type, settingsJson(def), JSON.stringify(sealed), now, now);
    if (result.changes === 0) throw new XimpError(ErrorCodes.CONFLICT, `alert channel "${def.name}" already exists; update it instead`);
    return { channel: this.get(def.name)!, secretsChanged: Object.keys(sealed).sort() };
  }

  /**
   * Replaces the channel's settings. A secret field given as "set" (what a read answers) or left
   * out keeps its stored value when the type stays the same; a new value replaces it.
   */
  update(name: string, def: ChannelDefinition, now: number): ChannelChange {
    const row = this.stmts.get.get(name) as Row | undefined;
    if (!row) throw new XimpError(ErrorCodes.NOT_FOUND, `no alert channel named "${name}"`);
    if (def.name !== name) throw new XimpError(ErrorCodes.CONFLICT, `a channel cannot be renamed ("${name}" to "${def.name}")`);
    const kept = row.type === def.type ? (JSON.parse(row.sealed_json) as Record<string, string>) : {};
    const sealed = this.seal(def, kept);
    this.stmts.update.run(def.type, settingsJson(def), JSON.stringify(sealed), now, name);
    const changed = Object.keys(def.secrets).filter((field) => def.secrets[field] !== KEEP_SECRET);
    const dropped = Object.keys(JSON.parse(row.sealed_json) as Record<string, string>).filter((field) => !(field in sealed));
    return { channel: this.get(name)!, secretsChanged: [...new Set([...changed, ...dropped])].sort() };
  }

  delete(name: string): void {
    if (this.stmts.remove.run(name).changes === 0) throw new XimpError(ErrorCodes.NOT_FOUND, `no alert channel named "${name}"`);
  }

  /** The channel's secrets in clear, for a delivery. Throws XIMP_ERR_SECRET_UNREADABLE. */
  secrets(name: string): Record<string, string> {
    const row = this.stmts.get.get(name) as Row | undefined;
    if (!row) throw new XimpError(ErrorCodes.NOT_FOUND, `no alert channel named "${name}"`);
    const sealed = JSON.parse(row.sealed_json) as Record<string, string>;
    const out: Record<string, string> = {};
    for (const [field, value] of Object.entries(sealed)) out[field] = this.box.open(value, context(name, field));
    return out;
  }

  /** Seals the given secrets; "set" or absent keeps `kept`'s sealed value of that field. */
  private seal(def: ChannelDefinition, kept: Record<string, string>): Record<string, string> {
    const out: Record<string, string> = {};
    for (const field of SECRET_FIELDS[def.type]) {
      const given = def.secrets[field];
      if (given === undefined || given === KEEP_SECRET) {
        if (kept[field] !== undefined) out[field] = kept[field];
        else if (given === KEEP_SECRET) throw new XimpError(ErrorCodes.REQUEST_INVALID, `${field}: "${KEEP_SECRET}" keeps a stored value, and this channel has none: give the value`);
      } else {
        out[field] = this.box.seal(given, context(def.name, field));
      }
    }
    if (def.type === 'webhook' && out.secret === undefined) throw new XimpError(ErrorCodes.REQUEST_INVALID, 'secret: required: webhook bodies are signed with it');
    if (def.type === 'email' && (def.settings as { username: string | null }).username !== null && out.password === undefined) {
      throw new XimpError(ErrorCodes.REQUEST_INVALID, 'password: required with username');
    }
    return out;
  }
}

function context(name: string, field: string): string {
  return `channel:${name}:${field}`;
}

function settingsJson(def: ChannelDefinition): string {
  const stored: StoredSettings = { repeat_interval_ms: def.repeatIntervalMs, settings: def.settings };
  return JSON.stringify(stored);
}

function fromRow(row: Row): StoredChannel {
  const stored = JSON.parse(row.settings_json) as StoredSettings;
  return {
    name: row.name,
    type: row.type,
    repeatIntervalMs: stored.repeat_interval_ms,
    settings: stored.settings,
    secretFields: Object.keys(JSON.parse(row.sealed_json) as Record<string, string>).sort(),
    createdMs: row.created_ms,
    updatedMs: row.updated_ms,
  };
}
