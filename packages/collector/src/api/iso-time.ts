/** API times: ISO 8601 UTC, or null when there is none (SPEC §6). */
export function isoOrNull(ms: number | null | undefined): string | null {
  return ms === null || ms === undefined || !Number.isFinite(ms) ? null : new Date(ms).toISOString();
}
