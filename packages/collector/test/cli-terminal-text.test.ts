import t from 'tap';
import fc from 'fast-check';
import { formatFields, formatTable } from '../src/cli/table';
import { terminalText } from '../src/cli/terminal-text';

/** What SPEC and the issue name: C0 and C1 controls, DEL, and the bidirectional controls. */
function isNamedUnsafe(code: number): boolean {
  return (
    code <= 0x1f ||
    (code >= 0x7f && code <= 0x9f) ||
    code === 0x061c ||
    code === 0x200e ||
    code === 0x200f ||
    (code >= 0x202a && code <= 0x202e) ||
    (code >= 0x2066 && code <= 0x2069)
  );
}

function unsafeIn(text: string): string[] {
  return [...text].filter((ch) => isNamedUnsafe(ch.codePointAt(0)!)).map((ch) => `U+${ch.codePointAt(0)!.toString(16)}`);
}

t.test('terminal escapes, controls and bidi controls are shown as text', async (t) => {
  t.equal(terminalText('0.1.0\x1b[2J\x1b[31mred'), '0.1.0\\x1b[2J\\x1b[31mred', 'ESC sequences');
  t.equal(terminalText('a\x00b\x07c\x7fd'), 'a\\x00b\\x07c\\x7fd', 'NUL, BEL, DEL');
  t.equal(terminalText('\u009b31m\u0085'), '\\x9b31m\\x85', 'C1: single-character CSI and NEL');
  t.equal(terminalText('1.0\u202e0.1'), '1.0\\u202e0.1', 'right-to-left override');
  t.equal(terminalText('\u2066x\u2069\u200e\u200f\u061c'), '\\u2066x\\u2069\\u200e\\u200f\\u061c', 'isolates and marks');
  t.equal(terminalText('a\u2028b\ufeffc\u200bd'), 'a\\u2028b\\ufeffc\\u200bd', 'line separator and invisible characters');
  t.equal(terminalText('tag\u{e0041}'), 'tag\\u{e0041}', 'astral format characters');
  t.equal(terminalText('lone \ud800 surrogate'), 'lone \\ud800 surrogate');
  t.equal(terminalText('x\ty\r\nz'), 'x\\ty\\r\\nz');
  for (let code = 0; code <= 0x10ffff; code++) {
    if (code >= 0xd800 && code <= 0xdfff) continue;
    if (!isNamedUnsafe(code)) continue;
    const out = terminalText(String.fromCodePoint(code));
    if (unsafeIn(out).length > 0 || out.length < 2) t.fail(`U+${code.toString(16)} passes through`);
  }
});

t.test('printable text is left exactly as it is', async (t) => {
  for (const text of ['0.1.0', 'Debian GNU/Linux 12 (bookworm)', 'AMD EPYC™ 7763', 'Straße', 'サーバー', 'שרת', '🖥️', 'C:\\x1b', 'a b']) {
    t.equal(terminalText(text), text, JSON.stringify(text));
  }
});

t.test('no table cell or field holds a control or bidi character, whatever the agent sent', async (t) => {
  fc.assert(
    fc.property(fc.array(fc.string({ unit: 'binary', maxLength: 24 }), { minLength: 1, maxLength: 4 }), (cells) => {
      const table = formatTable(cells.map((_, i) => `C${i}`), [cells]);
      const fields = formatFields(cells.map((c, i) => [`k${i}`, c] as const));
      // Only the newline that ends each line remains.
      const lines = table.split('\n');
      if (lines.length !== 3 || lines[2] !== '') throw new Error(`a cell forged a row: ${JSON.stringify(table)}`);
      const found = unsafeIn(table.replace(/\n/g, '') + fields.replace(/\n/g, ''));
      if (found.length > 0) throw new Error(`${found.join(', ')} in ${JSON.stringify(table)}`);
    }),
    { numRuns: 500 },
  );
  // Columns are measured on the escaped text, so they still line up.
  const text = formatTable(['VERSION', 'TOKEN'], [['1\x1b[0m', 'a'], ['2', 'b']]);
  t.equal(text, 'VERSION   TOKEN\n1\\x1b[0m  a\n2         b\n');
});
