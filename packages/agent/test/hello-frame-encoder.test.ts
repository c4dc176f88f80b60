import t from 'tap';
import { execFileSync } from 'node:child_process';
import * as path from 'node:path';
import fc from 'fast-check';
import { decodeAgentFrame, encodeAgentFrame, type Hello } from '@ximp/shared';
import { encodeHelloFrame } from '../src/hello-frame-encoder';

const hex = (bytes: Uint8Array): string => Buffer.from(bytes).toString('hex');

const HELLO: Omit<Hello, 'type'> = {
  protocolVersion: 1,
  node: 'web-01.example',
  agentVersion: '0.1.0',
  bootId: '9f2c0d1e-6a55-4b7e-9d0f-2f3b1c4d5e6f',
  host: { hostname: 'web-01', os: 'Debian GNU/Linux 12 (bookworm)', kernel: '6.1.0-18-amd64', arch: 'x64', cpuModel: 'Intel® Xeon®', cpuCount: 2, memoryBytes: 8 * 2 ** 30, virtualization: 'kvm', runtime: 'node v20.20.2' },
  labels: [{ name: 'zone', value: 'eu-west' }, { name: 'rack', value: '' }],
  intervalMs: 1000,
  streamId: 'Zx9-Qw_12',
};

t.test('the Hello an agent sends encodes to the bytes protobufjs writes and decodes back', async (t) => {
  t.equal(hex(encodeHelloFrame(HELLO)), hex(encodeAgentFrame({ type: 'hello', ...HELLO })));
  t.same(decodeAgentFrame(encodeHelloFrame(HELLO)), { type: 'hello', ...HELLO });
  const older = { ...HELLO, host: { ...HELLO.host } };
  delete older.host.runtime;
  t.equal(hex(encodeHelloFrame(older)), hex(encodeAgentFrame({ type: 'hello', ...older })), 'without a runtime');
});

t.test('any Hello encodes to the bytes protobufjs writes', async () => {
  const text = fc.oneof(fc.string({ maxLength: 30 }), fc.string({ maxLength: 10, unit: 'grapheme' }), fc.string({ maxLength: 6, unit: 'binary' }));
  const uint32 = fc.oneof(fc.nat({ max: 0xffffffff }), fc.constantFrom(0, 2 ** 32, -1, 1.5));
  const hello = fc.record({
    protocolVersion: uint32,
    node: text,
    agentVersion: text,
    bootId: text,
    host: fc.record(
      { hostname: text, os: text, kernel: text, arch: text, cpuModel: text, cpuCount: uint32, memoryBytes: fc.oneof(fc.maxSafeNat(), fc.constant(2 ** 60)), virtualization: text, runtime: text },
      { requiredKeys: ['hostname', 'os', 'kernel', 'arch', 'cpuModel', 'cpuCount', 'memoryBytes', 'virtualization'] },
    ),
    labels: fc.array(fc.record({ name: text, value: text }), { maxLength: 4 }),
    intervalMs: uint32,
    streamId: text,
  });
  fc.assert(
    fc.property(hello, (h) => hex(encodeHelloFrame(h)) === hex(encodeAgentFrame({ type: 'hello', ...h }))),
    { numRuns: 1000 },
  );
});

t.test('an agent process encodes its Hello without loading protobufjs', async (t) => {
  const script = `
    const { encodeHelloFrame } = require(${JSON.stringify(path.join(__dirname, '..', 'dist', 'hello-frame-encoder.js'))});
    const bytes = encodeHelloFrame(${JSON.stringify(HELLO)});
    const loaded = Object.keys(require.cache).some((file) => file.includes('protobufjs'));
    process.stdout.write(JSON.stringify({ hex: Buffer.from(bytes).toString('hex'), loaded }));`;
  const out = JSON.parse(execFileSync(process.execPath, ['-e', script], { encoding: 'utf8' })) as { hex: string; loaded: boolean };
  t.equal(out.hex, hex(encodeAgentFrame({ type: 'hello', ...HELLO })));
  t.equal(out.loaded, false, 'protobufjs stayed unloaded');
});
