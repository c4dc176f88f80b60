/** Agent ids up to this many slots beyond the session's series count stay in the array. */
const DENSE_SLACK = 1024;
const NONE = 0;
/** Shared by every session that defined nothing yet: an idle session allocates no array. */
const EMPTY = new Uint32Array(0);
const EMPTY_MAP: ReadonlyMap<number, number> = new Map();

/**
 * A session's stream-local series id -> collector series id. Agents number their series 1, 2, 3...
 * so the ids are dense: an array indexed by the agent's id (collector id + 1, 0 = undefined)
 * maps a batch without a hash lookup per sample. An id far beyond the count (a sparse or hostile
 * numbering) goes to a Map instead, so the array never outgrows the series the session defined.
 */
export class SeriesIdMap {
  private dense = EMPTY;
  private sparse: Map<number, number> | undefined;
  private count = 0;

  get size(): number {
    return this.count;
  }

  get(agentId: number): number | undefined {
    const slot = agentId < this.dense.length ? this.dense[agentId] : NONE;
    return slot !== NONE ? slot - 1 : this.sparse?.get(agentId);
  }

  set(agentId: number, collectorId: number): void {
    if (this.get(agentId) === undefined) this.count++;
    if (collectorId < 0xffff_ffff && this.fitsDense(agentId)) {
      this.sparse?.delete(agentId);
      this.dense[agentId] = collectorId + 1;
    } else {
      if (agentId < this.dense.length) this.dense[agentId] = NONE;
      (this.sparse ??= new Map()).set(agentId, collectorId);
    }
  }

  /**
   * Replaces each agent id in `ids` with its collector id, in place; returns the index of the
   * first id never defined (left as it was), or -1 when all are mapped.
   */
  mapInPlace(ids: Uint32Array): number {
    const dense = this.dense;
    const limit = dense.length;
    const sparse = this.sparse ?? EMPTY_MAP;
    for (let i = 0; i < ids.length; i++) {
      const agentId = ids[i];
      const slot = agentId < limit ? dense[agentId] : NONE;
      if (slot !== NONE) ids[i] = slot - 1;
      else {
        const collectorId = sparse.get(agentId);
        if (collectorId === undefined) return i;
        ids[i] = collectorId;
      }
    }
    return -1;
  }

  private fitsDense(agentId: number): boolean {
    if (agentId < this.dense.length) return true;
    if (agentId > this.count * 2 + DENSE_SLACK) return false;
    let length = Math.max(64, this.dense.length);
    while (length <= agentId) length *= 2;
    const grown = new Uint32Array(length);
    grown.set(this.dense);
    // Ids kept aside while they were out of range move in, so an id lives in one place only.
    for (const [id, collectorId] of this.sparse ?? EMPTY_MAP) {
      if (id < length && collectorId < 0xffff_ffff) {
        grown[id] = collectorId + 1;
        this.sparse!.delete(id);
      }
    }
    this.dense = grown;
    return true;
  }
}
