/**
 * An agent's own words reach the operator's terminal: the version it sends in Hello is shown by
 * `ximp agent list`. A hostile agent's escape sequences and bidi controls arrive as visible
 * text in the table, and exactly as sent in the JSON output.
 */
import t from 'tap';
import WebSocket from 'ws';
import * as fs from 'node:fs';
import { encodeAgentFrame, PROTOCOL_VERSION } from '@ximp/shared';
import { createToken, runCli, startCollector, waitFor } from './helpers/system';

const HOSTILE_VERSION = '1.0\x1b]0;owned\x07\x1b[2J\u009b31m\u202e1.0\u2066\r\n';

t.test('a hostile agent_version is escaped in the table and exact in JSON', async (t) => {
  const c = await startCollector(t);
  const { token } = await createToken(c.cliConfig, 'web-evil');
  const ws = new WebSocket(c.agentUrl, 'ximp.v1', {
    ca: fs.readFileSync(c.caFile),
    headers: { Authorization: `Bearer ${token}`, 'X-Ximp-Node': 'web-evil' },
    minVersion: 'TLSv1.3',
  });
  ws.on('error', () => undefined);
  t.teardown(() => ws.terminate());
  await new Promise<void>((resolve, reject) => {
    ws.once('open', resolve);
    ws.once('close', (code) => reject(new Error(`closed with ${code}`)));
  });
  ws.send(
    encodeAgentFrame({
      type: 'hello',
      protocolVersion: PROTOCOL_VERSION,
      node: 'web-evil',
      agentVersion: HOSTILE_VERSION,
      bootId: '',
      host: { hostname: 'web-evil', os: '', kernel: '', arch: '', cpuModel: '', cpuCount: 1, memoryBytes: 0, virtualization: '' },
      labels: [],
      intervalMs: 1000,
      streamId: 'hostile',
    }),
  );

  const json = await waitFor('the agent listed with its version', async () => {
    const res = await runCli(c.cliConfig, ['agent', 'list', '--output', 'json']);
    const list = JSON.parse(res.stdout) as { node: string; version: string | null }[];
    return list.find((a) => a.node === 'web-evil' && a.version !== null) ? res.stdout : undefined;
  });
  const listed = (JSON.parse(json) as { node: string; version: string }[]).find((a) => a.node === 'web-evil')!;
  t.equal(listed.version, HOSTILE_VERSION, 'JSON carries the version exactly');
  t.notOk(/\x1b|\x07|\r/.test(json), 'JSON.stringify escapes C0 controls');

  const table = await runCli(c.cliConfig, ['agent', 'list']);
  t.equal(table.code, 0, table.stderr);
  const unsafe = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/u;
  t.notOk(unsafe.test(table.stdout), 'no control or bidi character reaches the terminal');
  const lines = table.stdout.trimEnd().split('\n');
  t.equal(lines.length, 2, 'the header and one row: the CR LF forged none');
  t.match(lines[1], /^web-evil\s+(ACTIVE|STALE)\s/, 'the row of the agent');
  t.ok(
    lines[1].includes('1.0\\x1b]0;owned\\x07\\x1b[2J\\x9b31m\\u202e1.0\\u2066\\r\\n'),
    `the version shows what was sent: ${lines[1]}`,
  );
});
