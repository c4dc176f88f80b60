import { encodeAgentFrame, type Hello, type HostFacts } from '@ximp/shared';
import { isUint53, labelField, stringField, uintField, varint32Size, writeLabel, writeString, writeUint, writeVarint } from './wire-writer';

const MAX_UINT32 = 0xffffffff;
/** A lone surrogate: protobufjs and Buffer write it differently, so such a text goes the long way. */
const LONE_SURROGATE = /\p{Cs}/u;

/**
 * Encodes an AgentMessage{hello} the way protobufjs does (same fields, same order, same bytes),
 * so that the agent needs neither protobufjs nor the parsed schema to open a session. A Hello
 * holding what this writer does not cover (a number out of its field's range, a text with a lone
 * surrogate) goes through encodeAgentFrame.
 */
export function encodeHelloFrame(hello: Omit<Hello, 'type'>): Uint8Array {
  if (!covered(hello)) return encodeAgentFrame({ type: 'hello', ...hello });
  const hostSize = hostFactsSize(hello.host);
  let size =
    uintField(hello.protocolVersion) +
    stringField(hello.node) +
    stringField(hello.agentVersion) +
    stringField(hello.bootId) +
    1 +
    varint32Size(hostSize) +
    hostSize +
    uintField(hello.intervalMs) +
    stringField(hello.streamId);
  for (const label of hello.labels) size += labelField(label);

  const buf = Buffer.allocUnsafe(1 + varint32Size(size) + size);
  let at = 0;
  buf[at++] = 0x0a; // AgentMessage.hello, length-delimited
  at = writeVarint(buf, at, size);
  at = writeUint(buf, at, 0x08, hello.protocolVersion);
  at = writeString(buf, at, 0x12, hello.node);
  at = writeString(buf, at, 0x1a, hello.agentVersion);
  at = writeString(buf, at, 0x22, hello.bootId);
  buf[at++] = 0x2a;
  at = writeVarint(buf, at, hostSize);
  at = writeHostFacts(buf, at, hello.host);
  for (const label of hello.labels) at = writeLabel(buf, at, 0x32, label);
  at = writeUint(buf, at, 0x38, hello.intervalMs);
  writeString(buf, at, 0x42, hello.streamId);
  return buf;
}

function covered(hello: Omit<Hello, 'type'>): boolean {
  const { host } = hello;
  const texts = [hello.node, hello.agentVersion, hello.bootId, hello.streamId, host.hostname, host.os, host.kernel, host.arch, host.cpuModel, host.virtualization, host.runtime ?? ''];
  for (const label of hello.labels) texts.push(label.name, label.value);
  return (
    [hello.protocolVersion, hello.intervalMs, host.cpuCount].every((n) => isUint53(n) && n <= MAX_UINT32) &&
    isUint53(host.memoryBytes) &&
    texts.every((s) => typeof s === 'string' && !LONE_SURROGATE.test(s))
  );
}

function hostFactsSize(host: HostFacts): number {
  return (
    stringField(host.hostname) +
    stringField(host.os) +
    stringField(host.kernel) +
    stringField(host.arch) +
    stringField(host.cpuModel) +
    uintField(host.cpuCount) +
    uintField(host.memoryBytes) +
    stringField(host.virtualization) +
    stringField(host.runtime ?? '')
  );
}

function writeHostFacts(buf: Buffer, at: number, host: HostFacts): number {
  at = writeString(buf, at, 0x0a, host.hostname);
  at = writeString(buf, at, 0x12, host.os);
  at = writeString(buf, at, 0x1a, host.kernel);
  at = writeString(buf, at, 0x22, host.arch);
  at = writeString(buf, at, 0x2a, host.cpuModel);
  at = writeUint(buf, at, 0x30, host.cpuCount);
  at = writeUint(buf, at, 0x38, host.memoryBytes);
  at = writeString(buf, at, 0x42, host.virtualization);
  return writeString(buf, at, 0x4a, host.runtime ?? '');
}
