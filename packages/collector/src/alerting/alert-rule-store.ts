import { ErrorCodes, XimpError } from '@ximp/shared';
import type { Database } from '../store/database';
import { BUILT_IN_AGENT_DOWN, alertRuleJson, parseAlertRule, type AlertRule } from './alert-rule';

/** A stored rule with what the store knows about it. */
export interface StoredAlertRule {
  rule: AlertRule;
  builtIn: boolean;
  createdMs: number;
  updatedMs: number;
}

interface Row {
  name: string;
  definition_json: string;
  built_in: number;
  created_ms: number;
  updated_ms: number;
}

/** The built-in rule: an agent not ACTIVE for 5 minutes (SPEC §14). */
export const BUILT_IN_RULES: readonly AlertRule[] = Object.freeze([
  parseAlertRule(JSON.stringify({ name: BUILT_IN_AGENT_DOWN, kind: 'agent_down', for: '5m' }), 'built-in rule'),
]);

/**
 * Alert rules in the database, as the JSON objects the API answers with (read back through the
 * same reader that validated them). Built-in rules exist from the first start; they can be
 * edited and disabled but not deleted. Throws XIMP_ERR_CONFLICT and XIMP_ERR_NOT_FOUND.
 */
export class AlertRuleStore {
  private readonly stmts;

  constructor(private readonly db: Database) {
    this.stmts = {
      list: db.prepare('SELECT * FROM alert_rules ORDER BY name'),
      get: db.prepare('SELECT * FROM alert_rules WHERE name = ?'),
      insert: db.prepare(
        'INSERT INTO alert_rules (name, definition_json, built_in, created_ms, updated_ms) VALUES (?, ?, ?, ?, ?) ON CONFLICT (name) DO NOTHING',
      ),
      update: db.prepare('UPDATE alert_rules SET definition_json = ?, updated_ms = ? WHERE name = ?'),
      remove: db.prepare('DELETE FROM alert_rules WHERE name = ? AND built_in = 0'),
    };
  }

  /** Adds each built-in rule that is missing (first start, or a rule new in this version). */
  ensureBuiltIns(now: number): void {
    this.db.transaction(() => {
      for (const rule of BUILT_IN_RULES) this.stmts.insert.run(rule.name, JSON.stringify(alertRuleJson(rule)), 1, now, now);
    })();
  }

  list(): StoredAlertRule[] {
    return (this.stmts.list.all() as Row[]).map(fromRow);
  }

  get(name: string): StoredAlertRule | null {
    const row = this.stmts.get.get(name) as Row | undefined;
    return row ? fromRow(row) : null;
  }

  create(rule: AlertRule, now: number): StoredAlertRule {
    const result = this.stmts.insert.run(rule.name, JSON.stringify(alertRuleJson(rule)), 0, now, now);
    if (result.changes === 0) throw new XimpError(ErrorCodes.CONFLICT, `alert rule "${rule.name}" already exists; update it instead`);
    return { rule, builtIn: false, createdMs: now, updatedMs: now };
  }

  /** Replaces the rule named `name`; a built-in rule keeps its name and kind. */
  update(name: string, rule: AlertRule, now: number): StoredAlertRule {
    const current = this.require(name);
    if (rule.name !== name) throw new XimpError(ErrorCodes.CONFLICT, `a rule cannot be renamed ("${name}" to "${rule.name}"): create the new one and delete this one`);
    if (current.builtIn && rule.kind !== current.rule.kind) {
      throw new XimpError(ErrorCodes.CONFLICT, `"${name}" is a built-in ${current.rule.kind} rule: its kind cannot change (disable it with enabled: false)`);
    }
    this.stmts.update.run(JSON.stringify(alertRuleJson(rule)), now, name);
    return { rule, builtIn: current.builtIn, createdMs: current.createdMs, updatedMs: now };
  }

  /** Deletes a rule; a built-in one is refused (disable it instead). */
  delete(name: string): void {
    const current = this.require(name);
    if (current.builtIn) throw new XimpError(ErrorCodes.CONFLICT, `"${name}" is built in and cannot be deleted: disable it with enabled: false`);
    this.stmts.remove.run(name);
  }

  private require(name: string): StoredAlertRule {
    const found = this.get(name);
    if (found === null) throw new XimpError(ErrorCodes.NOT_FOUND, `no alert rule named "${name}"`);
    return found;
  }
}

function fromRow(row: Row): StoredAlertRule {
  return {
    rule: parseAlertRule(row.definition_json, `alert_rules/${row.name}`),
    builtIn: row.built_in === 1,
    createdMs: row.created_ms,
    updatedMs: row.updated_ms,
  };
}
