/**
 * Characters a terminal acts on instead of showing, by Unicode category: controls (Cc: C0 with
 * ESC, which starts escape sequences, DEL, and C1 with U+009B, a one-character CSI), format
 * characters (Cf: the bidirectional controls U+061C, U+200E/U+200F, U+202A–U+202E, U+2066–U+2069
 * that reorder what follows, zero-width characters, U+FEFF), line and paragraph separators (Zl,
 * Zp) and lone surrogates (Cs). Text an agent sends (its version, host facts, label values)
 * reaches tables through the API, so a hostile agent could otherwise repaint or reorder an
 * operator's screen or forge a row.
 */
const UNSAFE = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}\p{Cs}]/gu;

const NAMED: Readonly<Record<string, string>> = { '\t': '\\t', '\n': '\\n', '\r': '\\r' };

function visible(ch: string): string {
  const named = NAMED[ch];
  if (named !== undefined) return named;
  const code = ch.codePointAt(0)!;
  if (code <= 0xff) return `\\x${code.toString(16).padStart(2, '0')}`;
  return code <= 0xffff ? `\\u${code.toString(16).padStart(4, '0')}` : `\\u{${code.toString(16)}}`;
}

/**
 * The text with every such character written out as an escape (`\x1b`, `\u202e`, `\n`), so it
 * shows what was sent and cannot change the display. Other text, a backslash included, is left
 * as it is. `--output json` does not go through this: JSON stays exact (JSON.stringify escapes
 * C0 controls; C1 and bidi characters are valid JSON and kept, for the consumer to handle).
 */
export function terminalText(text: string): string {
  return text.replace(UNSAFE, visible);
}
