/** How a panel's matchers and `by` labels are typed in the dashboard form, and read back. */

const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

/** `mode=idle, cpu=0` → {mode: "idle", cpu: "0"}; throws with a message naming the bad part. */
export function parseMatchers(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of text.split(',').map((p) => p.trim()).filter(Boolean)) {
    const eq = part.indexOf('=');
    if (eq <= 0) throw new Error(`"${part}" is not label=value`);
    const name = part.slice(0, eq).trim();
    const value = part.slice(eq + 1).trim().replace(/^"(.*)"$/, '$1');
    if (!LABEL_NAME.test(name)) throw new Error(`"${name}" is not a label name`);
    if (Object.prototype.hasOwnProperty.call(out, name)) throw new Error(`${name} is given twice`);
    out[name] = value;
  }
  return out;
}

export function formatMatchers(matchers: Record<string, string>): string {
  return Object.entries(matchers).map(([k, v]) => `${k}=${v}`).join(', ');
}

/** `mode, cpu` → ["mode", "cpu"]; throws on a name that is not a label name. */
export function parseBy(text: string): string[] {
  const names = text.split(',').map((p) => p.trim()).filter(Boolean);
  for (const n of names) if (!LABEL_NAME.test(n)) throw new Error(`"${n}" is not a label name`);
  return names;
}
