// Runs `ximp` in this process against an API harness, as one API client (not itself a test).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { main } from '../../dist/cli/main';
import type { Credentials, Harness } from './api-harness';

export interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

export interface CliRunner {
  run(...argv: string[]): Promise<Run>;
  /** The CLI config written for the client. */
  file: string;
  dir: string;
}

/** Writes a CLI config for `client` and returns a runner of `ximp` in this process. */
export function cli(t: { testdirName: string }, h: Pick<Harness, 'url' | 'caPem'>, client: Credentials, now?: () => number): CliRunner {
  // Each config in its own folder: one test may run the CLI as several clients.
  const dir = fs.mkdtempSync(path.join(t.testdirName, 'cli-'));
  fs.writeFileSync(path.join(dir, 'ca.pem'), h.caPem);
  const file = path.join(dir, 'cli.yaml');
  fs.writeFileSync(file, `server: ${h.url}\nca_file: ca.pem\nclient_id: ${client.id}\nclient_secret: ${client.secret}\n`, { mode: 0o600 });
  return {
    file,
    dir,
    async run(...argv: string[]): Promise<Run> {
      let stdout = '';
      let stderr = '';
      const code = await main(argv, {
        stdout: (s) => void (stdout += s),
        stderr: (s) => void (stderr += s),
        env: { XIMP_CLI_CONFIG: file },
        homeDir: dir,
        ...(now === undefined ? {} : { now }),
      });
      return { code, stdout, stderr };
    },
  };
}
