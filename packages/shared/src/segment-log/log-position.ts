/** Where a record begins: a segment id and the byte offset of its header in that segment file. */
export interface LogPosition {
  segment: number;
  offset: number;
}

/** Orders positions: negative when `a` comes first, 0 when equal, positive when `b` does. */
export function comparePositions(a: LogPosition, b: LogPosition): number {
  return a.segment !== b.segment ? a.segment - b.segment : a.offset - b.offset;
}
