/**
 * One sample of one series, as a source produces it. The timestamp is the batch's, set by the
 * scheduler's caller; a point carries only what identifies the series and its value.
 */
export interface Point {
  name: string;
  labels: Record<string, string>;
  value: number;
}
