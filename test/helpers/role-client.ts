import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { BIN, runCli, type CliResult, type TestCollector } from './system';

/** A CLI config for a new API client of `role` (made with `ximp client create`), beside the admin's. */
export async function roleCliConfig(c: TestCollector, role: string, name = role): Promise<string> {
  const res = await runCli(c.cliConfig, ['client', 'create', '--name', name, '--role', role, '--output', 'json']);
  if (res.code !== 0) throw new Error(`client create failed: ${res.stderr}`);
  const { client_id: id, client_secret: secret } = JSON.parse(res.stdout) as { client_id: string; client_secret: string };
  const file = path.join(c.dir, `cli-${name}.yaml`);
  const text = fs
    .readFileSync(c.cliConfig, 'utf8')
    .replace(/^client_id: .*$/m, `client_id: ${id}`)
    .replace(/^client_secret: .*$/m, `client_secret: ${secret}`);
  fs.writeFileSync(file, text, { mode: 0o600 });
  return file;
}

/** Runs the real `ximp` CLI with `input` on its stdin (for `--file -`). */
export function runCliWithInput(cliConfig: string, args: string[], input: string): Promise<CliResult> {
  return new Promise((resolve) => {
    const child = execFile(process.execPath, [BIN.cli, ...args], { env: { ...process.env, XIMP_CLI_CONFIG: cliConfig }, timeout: 20_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
      resolve({ code, stdout, stderr });
    });
    // A CLI that exits before reading (a usage error) closes the pipe: not a test failure.
    child.stdin!.on('error', () => undefined);
    child.stdin!.end(input);
  });
}
