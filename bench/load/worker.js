'use strict';
/**
 * One load-generator thread: a slice of the simulated agents, each a real TLS 1.3 WebSocket
 * session speaking the agent protocol (Hello, definitions on a session's first batch, then one
 * batch per interval), with frames pre-encoded (./frames.js) and sent by a lean client
 * (./bench-websocket.js: zero-masked frames, no HTTP client object per session). The thread
 * answers the main thread's `snapshot` and `stop` messages with its counters (./generator.js
 * sums them).
 */
const path = require('node:path');
const tls = require('node:tls');
const { parentPort, workerData } = require('node:worker_threads');
const { BenchWebSocket: WebSocket } = require('./bench-websocket');

const root = path.resolve(__dirname, '../..');
const shared = require(path.join(root, 'packages/shared/dist/index.js'));
const { batchFrames, helloFrame, ackSequence } = require('./frames');
const { Reservoir } = require('./reservoir');

const cfg = workerData;
const frames = cfg.idle ? null : batchFrames({ samples: cfg.samples });
const now = () => performance.timeOrigin + performance.now();
// One TLS context (CA and TLS 1.3 minimum) for the thread's sessions: given the CA alone, every
// connection would build its own (a new SSL_CTX and certificate store each), the generator's
// cost, not the collector's.
const secureContext = tls.createSecureContext({ ca: cfg.ca, minVersion: 'TLSv1.3' });

const stats = {
  sessions: 0, // sessions opened (upgrade done)
  welcomed: 0, // sessions that got their Welcome
  connected: 0, // sessions welcomed and not closed
  firstAcked: 0, // agents whose first batch was acknowledged (once per agent, over reconnects)
  lastFirstAckAt: 0,
  sentBatches: 0,
  skippedBatches: 0, // not sent: the agent already had maxInFlight batches unacknowledged
  ackedBatches: 0,
  ackedSamples: 0,
  errors: 0,
  closesByCode: {},
};
const errorMessages = new Set();
const latency = new Reservoir(cfg.reservoirSize);
let closeEvents = [];
let stopping = false;
let handshakes = 0;
const waiting = [];

const agents = cfg.agents.map((a) => ({ ...a, backoff: new shared.Backoff({ initialMs: 1000, maxMs: 60_000 }), ws: null, sequence: 0, defined: false, pending: new Map(), timer: null, firstAcked: false, inHandshake: false }));

function endHandshake(agent) {
  if (!agent.inHandshake) return;
  agent.inHandshake = false;
  handshakes--;
  pump();
}

/** Opens queued sessions while fewer than handshakesInFlight are between upgrade and Welcome. */
function pump() {
  while (!stopping && handshakes < cfg.handshakesInFlight && waiting.length > 0) connect(waiting.shift());
}

function connect(agent) {
  agent.inHandshake = true;
  handshakes++;
  agent.sequence = 0;
  agent.defined = false;
  agent.pending.clear();
  const ws = new WebSocket(cfg.url, shared.SUBPROTOCOL, {
    secureContext,
    localAddress: agent.address,
    headers: { Authorization: `Bearer ${agent.token}`, 'X-Ximp-Node': agent.node },
    // As the agent (connection.ts): a handshake the collector does not finish is retried after 10 s.
    handshakeTimeout: 10_000,
  });
  agent.ws = ws;
  let welcomed = false;
  let closeNoted = false;
  ws.on('upgrade', () => stats.sessions++);
  ws.on('open', () => ws.send(helloFrame(agent.node, agent.streamId, cfg.intervalMs)));
  ws.on('message', (data) => {
    const seq = ackSequence(data);
    if (seq > 0) return onAck(agent, seq);
    let frame;
    try {
      frame = shared.decodeCollectorFrame(data);
    } catch (err) {
      return noteError(`undecodable frame: ${err.message}`);
    }
    if (frame.type === 'welcome') {
      welcomed = true;
      stats.welcomed++;
      stats.connected++;
      agent.sequence = frame.lastAckedSequence;
      agent.backoff.reset();
      endHandshake(agent);
      if (!cfg.idle) startSending(agent, ws);
    } else if (frame.type === 'ack') {
      onAck(agent, frame.sequence);
    } else if (frame.type === 'error') {
      noteError(`collector error ${frame.code}: ${frame.message}`);
      // The collector says why it closes before it closes: the agent knows its session ended here.
      if (!stopping && !closeNoted) {
        closeNoted = true;
        closeEvents.push({ index: agent.index, code: frame.code, at: now() });
      }
    }
  });
  ws.on('error', (err) => noteError(err.message));
  ws.on('close', (code) => {
    const at = now();
    endHandshake(agent);
    if (welcomed) stats.connected--;
    clearTimers(agent);
    stats.closesByCode[code] = (stats.closesByCode[code] ?? 0) + 1;
    if (stopping) return;
    if (!closeNoted) closeEvents.push({ index: agent.index, code, at });
    if (cfg.reconnect) {
      // The agent's backoff (connection.ts): exponential from 1 s to 60 s with full jitter, reset
      // by a Welcome; a faster retry would only feed the collector's per-token upgrade limit.
      agent.timer = setTimeout(() => {
        agent.timer = null;
        if (!stopping) {
          waiting.push(agent);
          pump();
        }
      }, agent.backoff.next());
    }
  });
}

function startSending(agent, ws) {
  const send = () => {
    if (ws.readyState !== WebSocket.OPEN) return;
    if (agent.pending.size >= cfg.maxInFlight) {
      stats.skippedBatches++;
      return;
    }
    const sequence = ++agent.sequence;
    const frame = frames.batch(sequence, Date.now(), !agent.defined);
    agent.defined = true;
    agent.pending.set(sequence, performance.now());
    stats.sentBatches++;
    ws.send(frame);
  };
  // Spread over the interval, as agents started at different times are; an agent that connects
  // with data spooled sends its first batch at once (firstBatchAtOnce).
  const first = cfg.firstBatchAtOnce && !agent.firstAcked ? 0 : Math.random() * cfg.intervalMs;
  agent.timer = setTimeout(() => {
    send();
    agent.timer = setInterval(send, cfg.intervalMs);
  }, first);
}

function onAck(agent, sequence) {
  const t0 = agent.pending.get(sequence);
  if (t0 === undefined) return;
  agent.pending.delete(sequence);
  stats.ackedBatches++;
  stats.ackedSamples += cfg.samples;
  latency.add(performance.now() - t0);
  if (!agent.firstAcked) {
    agent.firstAcked = true;
    stats.firstAcked++;
    stats.lastFirstAckAt = now();
  }
}

function clearTimers(agent) {
  if (agent.timer) {
    clearTimeout(agent.timer);
    clearInterval(agent.timer);
    agent.timer = null;
  }
}

function noteError(message) {
  stats.errors++;
  if (errorMessages.size < 10) errorMessages.add(message.slice(0, 200));
}

function snapshot(resetLatency) {
  const out = { ...stats, closesByCode: { ...stats.closesByCode }, errorMessages: [...errorMessages], latency: { values: latency.values, seen: latency.seen }, closeEvents, at: now() };
  closeEvents = [];
  if (resetLatency) latency.reset();
  return out;
}

async function stop() {
  stopping = true;
  waiting.length = 0;
  const open = [];
  for (const agent of agents) {
    clearTimers(agent);
    const ws = agent.ws;
    if (ws && ws.readyState !== WebSocket.CLOSED) {
      open.push(new Promise((resolve) => ws.once('close', resolve)));
      if (ws.readyState === WebSocket.OPEN) ws.close(1000);
      else ws.terminate();
    }
  }
  // A collector too busy to answer the closing handshake does not hold the bench.
  const killer = setTimeout(() => agents.forEach((a) => a.ws?.terminate()), 5000);
  await Promise.all(open);
  clearTimeout(killer);
}

parentPort.on('message', (msg) => {
  if (msg.cmd === 'snapshot') parentPort.postMessage({ id: msg.id, snapshot: snapshot(msg.resetLatency) });
  else if (msg.cmd === 'go') {
    for (const agent of agents) waiting.push(agent);
    pump();
  } else if (msg.cmd === 'stop') void stop().then(() => parentPort.postMessage({ id: msg.id, snapshot: snapshot(false) }));
});

// Loaded and frames encoded: the agents connect on 'go', so a scenario's clock starts there.
parentPort.postMessage({ ready: true });
