import * as fs from 'node:fs';
import * as path from 'node:path';

/** Writes `text` to `dir/name` with exactly `mode` (whatever the umask); returns the path. */
export function writeFileWithMode(dir: string, name: string, text: string, mode = 0o600): string {
  const file = path.join(dir, name);
  fs.writeFileSync(file, text, { mode });
  fs.chmodSync(file, mode);
  return file;
}

/** A threshold rule file as an editor writes one (SPEC §14). */
export const WEB_LOAD_RULE = `name: web-load
kind: threshold
metric: node_load1
matchers: { mountpoint: "/" }
aggregate: max
op: ">"
value: 4
for: 5m
nodes: "web-*"
`;
