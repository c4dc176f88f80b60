/**
 * The codes docs/errors.md lists reach the log lines an operator reads: an agent turned away
 * names the AUTH code of the reason, and a collector closing a session for a frame out of order
 * names XIMP_ERR_PROTOCOL_UNEXPECTED, apart from undecodable frames (XIMP_ERR_PROTOCOL_MALFORMED).
 */
import t from 'tap';
import WebSocket from 'ws';
import * as fs from 'node:fs';
import { encodeAgentFrame, ErrorCodes, PROTOCOL_VERSION } from '@ximp/shared';
import { createToken, runCli, startAgent, startCollector, waitFor } from './helpers/system';

/** Opens a session as `node`, sends `frames`, and resolves with the close code. */
function session(url: string, ca: string, token: string, node: string, frames: Uint8Array[]): Promise<number> {
  return new Promise((resolve) => {
    const ws = new WebSocket(url, 'ximp.v1', { ca, headers: { Authorization: `Bearer ${token}`, 'X-Ximp-Node': node }, minVersion: 'TLSv1.3' });
    ws.on('open', () => {
      for (const f of frames) ws.send(f);
    });
    ws.on('close', (code) => resolve(code));
    ws.on('error', () => undefined);
  });
}

const logged = (lines: string[], message: string, code: string): boolean =>
  lines.some((l) => l.includes(message) && (JSON.parse(l) as { code?: string }).code === code);

t.test('an agent refused for a bad, another node\'s or a revoked token logs the code of the reason', async (t) => {
  const c = await startCollector(t);
  const other = await createToken(c.cliConfig, 'node-b');
  const invalid = await startAgent(t, { url: c.agentUrl, token: `ximp_${'a'.repeat(12)}_${'b'.repeat(52)}`, caFile: c.caFile, node: 'node-a' });
  const wrongNode = await startAgent(t, { url: c.agentUrl, token: other.token, caFile: c.caFile, node: 'node-c' });
  await waitFor('the invalid-token refusal logged', () => logged(invalid.logs, 'collector refused this agent', ErrorCodes.AUTH_INVALID_TOKEN));
  await waitFor('the wrong-node refusal logged', () => logged(wrongNode.logs, 'collector refused this agent', ErrorCodes.AUTH_WRONG_NODE));

  const revoked = await createToken(c.cliConfig, 'node-d');
  const agent = await startAgent(t, { url: c.agentUrl, token: revoked.token, caFile: c.caFile, node: 'node-d' });
  await waitFor('node-d connected', () => agent.logs.some((l) => l.includes('connected to collector')));
  t.equal((await runCli(c.cliConfig, ['agent', 'token', 'revoke', revoked.id])).code, 0);
  await waitFor('the revocation logged', () => logged(agent.logs, 'collector refused this agent', ErrorCodes.AUTH_REVOKED));
});

t.test('a frame out of order is XIMP_ERR_PROTOCOL_UNEXPECTED, an undecodable one XIMP_ERR_PROTOCOL_MALFORMED', async (t) => {
  const c = await startCollector(t);
  const ca = fs.readFileSync(c.caFile, 'utf8');
  const { token } = await createToken(c.cliConfig, 'raw-node');
  const batch = encodeAgentFrame({ type: 'batch', sequence: 1, timestampUnixMs: Date.now(), definitions: [], seriesIds: [], values: [], droppedBatchesTotal: 0 });
  t.equal(await session(c.agentUrl, ca, token, 'raw-node', [batch]), 4400, 'a batch before hello closes with 4400');
  const hello = encodeAgentFrame({
    type: 'hello',
    protocolVersion: PROTOCOL_VERSION,
    node: 'raw-node',
    agentVersion: 'test',
    bootId: '',
    host: { hostname: 'raw-node', os: '', kernel: '', arch: '', cpuModel: '', cpuCount: 1, memoryBytes: 0, virtualization: '' },
    labels: [],
    intervalMs: 1000,
    streamId: 'raw',
  });
  t.equal(await session(c.agentUrl, ca, token, 'raw-node', [hello, hello]), 4400, 'a second hello closes with 4400');
  t.equal(await session(c.agentUrl, ca, token, 'raw-node', [Uint8Array.from([0xff, 0xff, 0x0f])]), 4400, 'garbage closes with 4400');
  const broke = () => c.logs.filter((l) => l.includes('agent broke the protocol')).map((l) => (JSON.parse(l) as { code: string }).code);
  await waitFor('three violations logged', () => broke().length >= 3);
  t.same(broke(), [ErrorCodes.PROTOCOL_UNEXPECTED, ErrorCodes.PROTOCOL_UNEXPECTED, ErrorCodes.PROTOCOL_MALFORMED]);
});
