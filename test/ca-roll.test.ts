/**
 * Rolling the CA through the CLI against a real collector, never a flag day: `bundle` writes a next
 * CA and the trust bundle while nothing in service changes; an agent given the bundle (SIGHUP)
 * keeps its socket across `switch`, a new agent with the bundle connects, and one holding only the
 * old CA is refused with the unknown-CA line; `drop-old` leaves the new CA alone in the bundle.
 * Steps out of order are refused with 409, a repeated step changes nothing, each step that changed
 * something leaves one audit entry, and the status rows match the files.
 */
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tls from 'node:tls';
import t from 'tap';
import { loadAgentConfig } from '../packages/agent/src/config';
import { adminApi } from './helpers/admin-api';
import { agentList, createToken, runCli, startAgent, startCollector, tempDir, waitFor, type TestAgent } from './helpers/system';

const DAY_MS = 86_400_000;
// Some thirty CLI runs (a process each) and three agents: longer than .taprc's per-file timeout on a loaded machine.
t.setTimeout(240_000);

interface StatusRow {
  component: string;
  subject: string;
  issuer: string;
  not_after: string;
  days_left: number;
  status: string;
  source: string;
}

interface StepJson {
  component: string;
  step: string;
  changed: boolean;
  subject: string;
  serial: string;
  not_after: string;
  bundle_file: string;
  renewed: { component: string; serial: string; not_after: string }[];
}

/** The certificate a new TLS 1.3 connection to `port` is served, verified against `ca` as an agent would. */
function served(port: number, ca: string): Promise<crypto.X509Certificate> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({ host: '127.0.0.1', port, ca, servername: 'localhost', minVersion: 'TLSv1.3' }, () => {
      resolve(socket.getPeerX509Certificate()!);
      socket.destroy();
    });
    socket.on('error', reject);
  });
}

/** Every certificate of a PEM file, in order. */
function pems(file: string): crypto.X509Certificate[] {
  return [...fs.readFileSync(file, 'utf8').matchAll(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g)].map((m) => new crypto.X509Certificate(m[0]));
}

function x509(file: string): crypto.X509Certificate {
  return new crypto.X509Certificate(fs.readFileSync(file));
}

/** `subject` of node:crypto (one part a line) as the status row prints it. */
function oneLine(dn: string): string {
  return dn.split('\n').filter((p) => p !== '').join(', ');
}

t.test('the CA rolls in three steps; agents with the bundle stay connected, one with the old CA alone is refused', async (t) => {
  const c = await startCollector(t);
  const pki = path.join(c.dataDir, 'pki');
  const file = (name: string): string => path.join(pki, name);
  const agentPort = c.collector.agentAddress().port;
  const oldCa = x509(file('ca.pem'));
  const oldCaPem = fs.readFileSync(file('ca.pem'), 'utf8');
  // What a fleet holds before the roll: copies of the CA, not the collector's own file.
  const dir = tempDir(t, 'ximp-ca-copies-');
  const bundledCaFile = path.join(dir, 'agent-a-ca.pem');
  const oldOnlyCaFile = path.join(dir, 'old-ca.pem');
  fs.writeFileSync(bundledCaFile, oldCaPem);
  fs.writeFileSync(oldOnlyCaFile, oldCaPem);
  const roll = (step: string | null, output = 'json'): ReturnType<typeof runCli> =>
    runCli(c.cliConfig, ['tls', 'renew', '--component', 'ca', ...(step === null ? [] : ['--step', step]), '--output', output]);
  type Assert = Pick<typeof t, 'ok' | 'equal'>;
  const status = async (t: Assert): Promise<StatusRow[]> => {
    const res = await runCli(c.cliConfig, ['tls', 'status', '--output', 'json']);
    t.equal(res.code, 0, res.stderr);
    return JSON.parse(res.stdout) as StatusRow[];
  };
  const rowMatches = (t: Assert, row: StatusRow | undefined, cert: crypto.X509Certificate, name: string): void => {
    t.ok(row, `a ${name} row`);
    t.equal(new Date(row!.not_after).getTime(), new Date(cert.validTo).getTime(), `${name}: NOT-AFTER of the file`);
    t.equal(row!.subject, oneLine(cert.subject), `${name}: subject of the file`);
    t.equal(row!.issuer, oneLine(cert.issuer), `${name}: issuer of the file`);
    t.equal(row!.days_left, Math.floor((new Date(cert.validTo).getTime() - Date.now()) / DAY_MS), `${name}: days left`);
    t.equal(row!.status, 'ok', `${name}: ok`);
    t.equal(row!.source, 'managed');
  };

  const nodeA = 'roll-a';
  const a = await startAgent(t, { url: c.agentUrl, token: (await createToken(c.cliConfig, nodeA)).token, caFile: bundledCaFile, node: nodeA, intervalMs: 200 });
  await waitFor('agent a ACTIVE', async () => (await agentList(c.cliConfig)).find((x) => x.node === nodeA && x.state === 'ACTIVE'));

  await t.test('out of order before any roll: 409, exit 1, the step to run first', async (t) => {
    for (const step of ['switch', 'drop-old']) {
      const res = await roll(step);
      t.equal(res.code, 1, `${step}: a conflict is exit 1 (SPEC §6 has no status of its own for it)`);
      t.match(res.stderr, /HTTP 409 .*run --step bundle first/, step);
    }
    t.notOk(fs.existsSync(file('ca-next.pem')), 'nothing written');
  });

  const servedBefore = (await served(agentPort, oldCaPem)).serialNumber;
  const bundle = await roll(null, 'table');
  t.equal(bundle.code, 0, bundle.stderr);
  t.match(bundle.stdout, /Created the next CA/);
  t.match(bundle.stdout, new RegExp(`Trust bundle \\(current CA \\+ next CA\\): ${file('ca-bundle.pem').replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`));
  t.match(bundle.stdout, /server\.ca_file in agent\.yaml, then reload the agents \(SIGHUP/);
  t.match(bundle.stdout, /every CLI config as ca_file/);
  t.match(bundle.stdout, /remote-write store/);
  t.match(bundle.stdout, /ximp tls renew --component ca --step switch/);

  await t.test('bundle: a new ECDSA P-256 CA for 10 years beside the old one; nothing in service changed', async (t) => {
    const next = x509(file('ca-next.pem'));
    t.ok(next.ca, 'a CA');
    t.equal(next.publicKey.asymmetricKeyDetails?.namedCurve, 'prime256v1', 'ECDSA P-256');
    const years = (new Date(next.validTo).getTime() - Date.now()) / (365 * DAY_MS);
    t.ok(years > 9.9 && years <= 10.01, `valid 10 years (${years.toFixed(2)})`);
    t.not(next.subject, oldCa.subject, `a subject told apart from the old CA's (${oneLine(next.subject)})`);
    t.ok(next.checkPrivateKey(crypto.createPrivateKey(fs.readFileSync(file('ca-next-key.pem')))), 'its key');
    t.equal(fs.statSync(file('ca-next-key.pem')).mode & 0o777, 0o600, 'key 0600');
    t.same(pems(file('ca-bundle.pem')).map((x) => x.serialNumber), [oldCa.serialNumber, next.serialNumber], 'bundle = current CA + next CA');
    t.equal(x509(file('ca.pem')).serialNumber, oldCa.serialNumber, 'the old CA still issues');
    t.equal((await served(agentPort, oldCaPem)).serialNumber, servedBefore, 'the agent listener serves the same certificate');
    const rows = await status(t);
    t.same(rows.map((r) => r.component), ['ca', 'ca-next', 'collector', 'api', 'store-client']);
    rowMatches(t, rows.find((r) => r.component === 'ca'), oldCa, 'ca');
    rowMatches(t, rows.find((r) => r.component === 'ca-next'), next, 'ca-next');
  });

  const nextSerial = x509(file('ca-next.pem')).serialNumber;
  await t.test('bundle again: already there, the same next CA', async (t) => {
    const again = await roll('bundle');
    t.equal(again.code, 0, again.stderr);
    const json = JSON.parse(again.stdout) as StepJson;
    t.same({ step: json.step, changed: json.changed, serial: json.serial, bundle_file: json.bundle_file }, { step: 'bundle', changed: false, serial: nextSerial, bundle_file: file('ca-bundle.pem') });
    t.equal(x509(file('ca-next.pem')).serialNumber, nextSerial);
    const table = await roll('bundle', 'table');
    t.match(table.stdout, /already at step bundle; nothing changed/);
    const early = await roll('drop-old');
    t.equal(early.code, 1);
    t.match(early.stderr, /HTTP 409 .*run --step switch first/);
  });

  // The operator distributes the bundle: agent a gets it in its ca_file and a SIGHUP.
  fs.copyFileSync(file('ca-bundle.pem'), bundledCaFile);
  a.agent.reload({ ...loadAgentConfig(a.configFile), intervalMs: 200 });
  const connectedLines = (x: TestAgent): number => x.logs.filter((l) => l.includes('connected to collector')).length;
  await waitFor('agent a back on the bundle', () => connectedLines(a) === 2 && a.agent.pendingBatches() === 0);
  const before = await waitFor('agent a ACTIVE on the bundle', async () => (await agentList(c.cliConfig)).find((x) => x.node === nodeA && x.state === 'ACTIVE'));

  const switched = await roll('switch');
  t.equal(switched.code, 0, switched.stderr);
  const switchJson = JSON.parse(switched.stdout) as StepJson;

  await t.test('switch: the next CA issues, every leaf re-issued by it, the old CA kept as ca-old.pem', async (t) => {
    t.equal(switchJson.changed, true);
    t.equal(switchJson.serial, nextSerial);
    t.same(switchJson.renewed.map((r) => r.component).sort(), ['api', 'collector', 'store-client']);
    const ca = x509(file('ca.pem'));
    t.equal(ca.serialNumber, nextSerial, 'ca.pem is the former next CA');
    t.ok(ca.checkPrivateKey(crypto.createPrivateKey(fs.readFileSync(file('ca-key.pem')))), 'ca-key.pem is its key');
    t.equal(x509(file('ca-old.pem')).serialNumber, oldCa.serialNumber, 'ca-old.pem is the old CA');
    for (const gone of ['ca-next.pem', 'ca-next-key.pem', 'ca-key.prev.pem']) t.notOk(fs.existsSync(file(gone)), `${gone} removed`);
    t.same(pems(file('ca-bundle.pem')).map((x) => x.serialNumber), [oldCa.serialNumber, nextSerial], 'the bundle still trusts both');
    for (const leaf of ['collector', 'api', 'store-client']) {
      const cert = x509(file(`${leaf}.pem`));
      t.ok(cert.checkIssued(ca) && cert.verify(ca.publicKey), `${leaf} issued by the new CA`);
    }
    const servedNow = await served(agentPort, fs.readFileSync(file('ca-bundle.pem'), 'utf8'));
    t.equal(servedNow.serialNumber, x509(file('collector.pem')).serialNumber, 'a new connection gets the new collector certificate');
    t.ok(servedNow.verify(ca.publicKey), 'signed by the new CA');
    const rows = await status(t);
    t.same(rows.map((r) => r.component), ['ca', 'ca-old', 'collector', 'api', 'store-client']);
    rowMatches(t, rows.find((r) => r.component === 'ca'), ca, 'ca');
    rowMatches(t, rows.find((r) => r.component === 'ca-old'), oldCa, 'ca-old');
    for (const leaf of ['collector', 'api', 'store-client']) rowMatches(t, rows.find((r) => r.component === leaf), x509(file(`${leaf}.pem`)), leaf);
  });

  await t.test('an agent with the bundle keeps its socket across switch', async (t) => {
    const cycles = a.source!.cycles;
    await waitFor('more batches acknowledged', () => a.source!.cycles >= cycles + 3 && a.agent.pendingBatches() === 0);
    const after = (await agentList(c.cliConfig)).find((x) => x.node === nodeA);
    t.equal(after?.state, 'ACTIVE');
    t.equal(after?.address, before.address, 'the same agent socket (address and local port)');
    t.equal(connectedLines(a), 2, 'no connection since the SIGHUP that gave it the bundle');
    t.notOk(a.logs.some((l) => /collector connection error/.test(l)), 'no trust failure');
  });

  await t.test('a new agent with the bundle connects; one holding only the old CA is refused with the unknown-CA line', async (t) => {
    const nodeB = 'roll-b';
    const b = await startAgent(t, { url: c.agentUrl, token: (await createToken(c.cliConfig, nodeB)).token, caFile: bundledCaFile, node: nodeB, intervalMs: 200 });
    await waitFor('agent b ACTIVE', async () => (await agentList(c.cliConfig)).find((x) => x.node === nodeB && x.state === 'ACTIVE'));
    await b.stop();
    const nodeC = 'roll-c';
    const old = await startAgent(t, { url: c.agentUrl, token: (await createToken(c.cliConfig, nodeC)).token, caFile: oldOnlyCaFile, node: nodeC, intervalMs: 200 });
    const line = await waitFor('the unknown-CA line', () => old.logs.find((l) => l.includes('XIMP_ERR_TLS_UNTRUSTED')));
    t.match(line, /"kind":"unknown_ca"/);
    t.match(line, /not signed by a CA this side trusts.*check server\.ca_file in agent\.yaml/);
    await old.stop();
    t.not((await agentList(c.cliConfig)).find((x) => x.node === nodeC)?.state, 'ACTIVE', 'never connected');
  });

  await t.test('switch again: already there; bundle now is out of order', async (t) => {
    const again = await roll('switch');
    t.equal(again.code, 0, again.stderr);
    t.same(((j: StepJson) => [j.changed, j.serial, j.renewed])(JSON.parse(again.stdout) as StepJson), [false, nextSerial, []]);
    t.equal(x509(file('ca-old.pem')).serialNumber, oldCa.serialNumber);
    const bundleNow = await roll('bundle');
    t.equal(bundleNow.code, 1);
    t.match(bundleNow.stderr, /HTTP 409 .*run --step drop-old first/);
  });

  const dropped = await roll('drop-old', 'table');
  t.equal(dropped.code, 0, dropped.stderr);
  t.match(dropped.stdout, /Dropped the old CA/);

  await t.test('drop-old: ca-old.pem gone, the bundle holds the new CA alone; repeated, nothing changes', async (t) => {
    t.notOk(fs.existsSync(file('ca-old.pem')));
    t.same(pems(file('ca-bundle.pem')).map((x) => x.serialNumber), [nextSerial], 'bundle = the new CA');
    t.same((await status(t)).map((r) => r.component), ['ca', 'collector', 'api', 'store-client']);
    const again = await roll('drop-old');
    t.equal(again.code, 0, again.stderr);
    t.equal((JSON.parse(again.stdout) as StepJson).changed, false);
    const table = await roll('drop-old', 'table');
    t.match(table.stdout, /already at step drop-old; nothing changed/);
    const agents = (await agentList(c.cliConfig)).find((x) => x.node === nodeA);
    t.equal(agents?.address, before.address, 'agent a still on its socket');
  });

  await t.test('one audit entry per step that changed something', async (t) => {
    const api = await adminApi(c);
    const audit = JSON.parse((await api('GET', '/api/v1/audit?limit=100')).body) as { action: string; target: string }[];
    t.same(
      audit.filter((e) => e.action === 'tls.renew').map((e) => e.target).sort(),
      ['ca:bundle', 'ca:drop-old', 'ca:switch'],
      'repeats and refusals leave none',
    );
  });
});
