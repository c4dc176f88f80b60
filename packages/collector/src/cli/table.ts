import { terminalText } from './terminal-text';

/** A table cell: shown as text; null and undefined as "-". */
export type Cell = string | number | null | undefined;

/** A cell as printed: control and bidi characters escaped, so no value can forge a row or repaint the screen. */
function cellText(cell: Cell): string {
  if (cell === null || cell === undefined || cell === '') return '-';
  return terminalText(String(cell));
}

/**
 * Formats rows under a header as aligned columns separated by two spaces (like `kubectl get`),
 * one line each, every line ending in "\n". Trailing padding is trimmed. With no rows only the
 * header line is printed, so a filter that matches nothing still shows what it would list.
 */
export function formatTable(header: readonly string[], rows: readonly (readonly Cell[])[]): string {
  const lines = [header.map(cellText), ...rows.map((row) => header.map((_, i) => cellText(row[i])))];
  const widths = header.map((_, i) => Math.max(...lines.map((line) => line[i].length)));
  return lines.map((line) => line.map((text, i) => text.padEnd(widths[i])).join('  ').trimEnd() + '\n').join('');
}

/** `key: value` lines for a single result, keys aligned. */
export function formatFields(fields: ReadonlyArray<readonly [string, Cell]>): string {
  const width = Math.max(0, ...fields.map(([key]) => key.length + 1));
  return fields.map(([key, value]) => `${(key + ':').padEnd(width)} ${cellText(value)}\n`).join('');
}
