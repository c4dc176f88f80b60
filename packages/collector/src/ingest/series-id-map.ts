/** Agent ids up to this many slots beyond the session's series count stay in the array. */
const DENSE_SLACK = 1024;
const NONE = 0;

/**
 * A session's stream-local series id -> collector series id. Agents number their series 1, 2, 3...
 * so the ids are dense: an array indexed by the agent's id (collector id + 1, 0 = undefined)
 * maps a batch without a hash lookup per sample. An id far beyond the count (a sparse or hostile
 * numbering) goes to a Map instead, so the array never outgrows the series the session defined.
 */
export class SeriesIdMap {
  private dense = new Uint32Array(64);
  private readonly sparse = new Map<number, number>();
  private count = 0;

  get size(): number {
    return this.count;
  }

  get(agentId: number): number | undefined {
    const slot = agentId < this.dense.length ? this.dense[agentId] : NONE;
    return slot !== NONE ? slot - 1 : this.sparse.get(agentId);
  }

  set(agentId: number, collectorId: number): void {
    if (this.get(agentId) === undefined) this.count++;
    if (collectorId < 0xffff_ffff && this.fitsDense(agentId)) {
      this.sparse.delete(agentId);
      this.dense[agentId] = collectorId + 1;
    } else {
      if (agentId < this.dense.length) this.dense[agentId] = NONE;
      this.sparse.set(agentId, collectorId);
    }
  }

  /**
   * Replaces each agent id in `ids` with its collector id, in place; returns the index of the
   * first id never defined (left as it was), or -1 when all are mapped.
   */
  mapInPlace(ids: Uint32Array): number {
    const dense = this.dense;
    const limit = dense.length;
    for (let i = 0; i < ids.length; i++) {
      const agentId = ids[i];
      const slot = agentId < limit ? dense[agentId] : NONE;
      if (slot !== NONE) ids[i] = slot - 1;
      else {
        const collectorId = this.sparse.get(agentId);
        if (collectorId === undefined) return i;
        ids[i] = collectorId;
      }
    }
    return -1;
  }

  private fitsDense(agentId: number): boolean {
    if (agentId < this.dense.length) return true;
    if (agentId > this.count * 2 + DENSE_SLACK) return false;
    let length = this.dense.length;
    while (length <= agentId) length *= 2;
    const grown = new Uint32Array(length);
    grown.set(this.dense);
    // Ids kept aside while they were out of range move in, so an id lives in one place only.
    for (const [id, collectorId] of this.sparse) {
      if (id < length && collectorId < 0xffff_ffff) {
        grown[id] = collectorId + 1;
        this.sparse.delete(id);
      }
    }
    this.dense = grown;
    return true;
  }
}
