import { ErrorCodes, XimpError } from '@ximp/shared';
import type { Database } from '../store/database';
import { slugOf, type DashboardInput, type Panel } from './dashboard';
import { NODE_OVERVIEW, NODE_OVERVIEW_ID } from './node-overview';

/** A stored dashboard. */
export interface Dashboard {
  id: string;
  name: string;
  builtin: boolean;
  panels: Panel[];
  /** The API client or user that created it; `system` for the built-in one. */
  createdBy: string;
  updatedMs: number;
}

interface Row {
  id: string;
  name: string;
  panels_json: string;
  builtin: number;
  created_by: string;
  updated_ms: number;
}

/** Editors may keep this many dashboards; more is refused (every table of user objects is bounded). */
export const MAX_DASHBOARDS = 1000;

/**
 * Dashboards in the database (migration 5). The built-in `node-overview` is written at start-up
 * (and refreshed when a newer version changes it) and cannot be changed or deleted
 * (XIMP_ERR_CONFLICT); a new dashboard's id is a slug of its name, made unique.
 */
export class DashboardStore {
  private readonly stmts;

  constructor(private readonly db: Database) {
    this.stmts = {
      list: db.prepare('SELECT * FROM dashboards ORDER BY builtin DESC, name, id'),
      get: db.prepare('SELECT * FROM dashboards WHERE id = ?'),
      count: db.prepare('SELECT count(*) FROM dashboards').pluck(true),
      insert: db.prepare(
        'INSERT INTO dashboards (id, name, panels_json, builtin, created_by, created_ms, updated_ms) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING',
      ),
      update: db.prepare('UPDATE dashboards SET name = ?, panels_json = ?, updated_ms = ? WHERE id = ?'),
      remove: db.prepare('DELETE FROM dashboards WHERE id = ? AND builtin = 0'),
    };
  }

  /** Writes the built-in dashboard when it is missing or differs from this version's. */
  ensureBuiltIns(now: number): void {
    const panels = JSON.stringify(NODE_OVERVIEW.panels);
    this.db.transaction(() => {
      const row = this.stmts.get.get(NODE_OVERVIEW_ID) as Row | undefined;
      if (row === undefined) this.stmts.insert.run(NODE_OVERVIEW_ID, NODE_OVERVIEW.name, panels, 1, 'system', now, now);
      else if (row.panels_json !== panels || row.name !== NODE_OVERVIEW.name) this.stmts.update.run(NODE_OVERVIEW.name, panels, now, NODE_OVERVIEW_ID);
    })();
  }

  list(): Dashboard[] {
    return (this.stmts.list.all() as Row[]).map(fromRow);
  }

  get(id: string): Dashboard | null {
    const row = this.stmts.get.get(id) as Row | undefined;
    return row ? fromRow(row) : null;
  }

  create(input: DashboardInput, createdBy: string, now: number): Dashboard {
    return this.db.transaction(() => {
      if ((this.stmts.count.get() as number) >= MAX_DASHBOARDS) {
        throw new XimpError(ErrorCodes.CONFLICT, `there are already ${MAX_DASHBOARDS} dashboards; delete one first`);
      }
      const id = this.freeId(slugOf(input.name));
      this.stmts.insert.run(id, input.name, JSON.stringify(input.panels), 0, createdBy, now, now);
      return { id, name: input.name, builtin: false, panels: input.panels, createdBy, updatedMs: now };
    })();
  }

  /** Replaces name and panels; the id stays. */
  update(id: string, input: DashboardInput, now: number): Dashboard {
    return this.db.transaction(() => {
      const current = this.requireChangeable(id);
      this.stmts.update.run(input.name, JSON.stringify(input.panels), now, id);
      return { ...current, name: input.name, panels: input.panels, updatedMs: now };
    })();
  }

  delete(id: string): void {
    this.db.transaction(() => {
      this.requireChangeable(id);
      this.stmts.remove.run(id);
    })();
  }

  /** `base`, or `base-2`, `base-3`, ... (shortened to stay within 64 characters). */
  private freeId(base: string): string {
    if (this.stmts.get.get(base) === undefined) return base;
    for (let n = 2; ; n++) {
      const suffix = `-${n}`;
      const id = base.slice(0, 64 - suffix.length).replace(/-+$/, '') + suffix;
      if (this.stmts.get.get(id) === undefined) return id;
    }
  }

  private requireChangeable(id: string): Dashboard {
    const found = this.get(id);
    if (found === null) throw new XimpError(ErrorCodes.NOT_FOUND, `no dashboard "${id}"`);
    if (found.builtin) throw new XimpError(ErrorCodes.CONFLICT, `"${id}" is built in and cannot be changed or deleted: create a copy instead`);
    return found;
  }
}

function fromRow(row: Row): Dashboard {
  let panels: Panel[] = [];
  try {
    panels = JSON.parse(row.panels_json) as Panel[];
  } catch {
    panels = [];
  }
  return { id: row.id, name: row.name, builtin: row.builtin === 1, panels, createdBy: row.created_by, updatedMs: row.updated_ms };
}
