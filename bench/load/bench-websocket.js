'use strict';
/**
 * The load generator's WebSocket client: what `ws`'s client sends and answers, written straight
 * to a TLS socket. A simulated agent stands for a process on another host, so its CPU is not the
 * collector's; `ws`'s client builds an HTTP client request and its parser for each session,
 * about a tenth of what a connecting generator thread spent. The collector sees the same
 * bytes: a TLS 1.3 handshake verified against the CA (tls.connect: chain and host name), the
 * same upgrade request (version 13, a random key, the subprotocol, the agent's headers), the
 * accept key checked, client frames masked (with a zero mask, as the generator gave `ws`),
 * pings answered, a close answered with its code.
 *
 * Events as `ws`'s: 'upgrade' (101 received), 'open', 'message' (Buffer), 'error' (Error), and
 * 'close' (code; 1006 when the connection ended without a close frame), once.
 */
const crypto = require('node:crypto');
const tls = require('node:tls');
const { EventEmitter } = require('node:events');

const GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';
const CONNECTING = 0;
const OPEN = 1;
const CLOSING = 2;
const CLOSED = 3;
const NO_CLOSE_FRAME = 1006;
/** Longest response head taken before the 101 is given up on. */
const MAX_HEAD_BYTES = 16 * 1024;
/** After our close frame, how long the server has to answer before the socket is destroyed. */
const CLOSE_TIMEOUT_MS = 5000;

/** A frame header for a client frame of `length` bytes: FIN, `opcode`, masked with a zero key. */
function clientHeader(opcode, length) {
  const extra = length < 126 ? 0 : length < 65536 ? 2 : 8;
  const header = Buffer.alloc(2 + extra + 4); // the last 4 bytes: the zero mask
  header[0] = 0x80 | opcode;
  if (extra === 0) header[1] = 0x80 | length;
  else if (extra === 2) {
    header[1] = 0x80 | 126;
    header.writeUInt16BE(length, 2);
  } else {
    header[1] = 0x80 | 127;
    header.writeBigUInt64BE(BigInt(length), 2);
  }
  return header;
}

class BenchWebSocket extends EventEmitter {
  /**
   * `url` wss://host:port/path; `options`: secureContext, localAddress, headers (extra request
   * headers), handshakeTimeout (ms, from here to the 101).
   */
  constructor(url, protocol, options) {
    super();
    const target = new URL(url);
    this.readyState = CONNECTING;
    this.protocol = protocol;
    this.key = crypto.randomBytes(16).toString('base64');
    this.head = Buffer.alloc(0);
    this.pending = null; // bytes of a frame not complete yet
    this.fragments = null; // payloads of a fragmented message
    this.closeCode = NO_CLOSE_FRAME;
    this.closeTimer = null;
    this.failed = false;
    // Node sends the host name as SNI (not an IP address) and checks the certificate against it.
    this.socket = tls.connect({
      host: target.hostname.replace(/^\[|\]$/g, ''),
      port: Number(target.port || 443),
      secureContext: options.secureContext,
      localAddress: options.localAddress,
    });
    this.handshakeTimer = setTimeout(() => this.fail(new Error('Opening handshake has timed out')), options.handshakeTimeout ?? 10_000);
    const lines = [
      `GET ${target.pathname}${target.search} HTTP/1.1`,
      `Host: ${target.host}`,
      'Connection: Upgrade',
      'Upgrade: websocket',
      'Sec-WebSocket-Version: 13',
      `Sec-WebSocket-Key: ${this.key}`,
      `Sec-WebSocket-Protocol: ${protocol}`,
      ...Object.entries(options.headers ?? {}).map(([name, value]) => `${name}: ${value}`),
    ];
    this.socket.once('secureConnect', () => this.socket.write(`${lines.join('\r\n')}\r\n\r\n`));
    this.socket.on('data', (chunk) => (this.readyState === CONNECTING ? this.onHead(chunk) : this.onFrames(chunk)));
    this.socket.on('error', (err) => this.emit('error', err));
    this.socket.on('close', () => this.onSocketClose());
  }

  send(payload) {
    if (this.readyState !== OPEN) return;
    this.writeFrame(0x2, payload);
  }

  close(code = 1000) {
    if (this.readyState === CLOSED || this.readyState === CLOSING) return;
    if (this.readyState === CONNECTING) return this.fail(new Error('WebSocket was closed before the connection was established'));
    const body = Buffer.alloc(2);
    body.writeUInt16BE(code, 0);
    this.writeFrame(0x8, body);
    this.readyState = CLOSING;
    this.closeTimer = setTimeout(() => this.socket.destroy(), CLOSE_TIMEOUT_MS);
  }

  /** Ends the connection at once, without a closing handshake. */
  terminate() {
    if (this.readyState === CLOSED) return;
    this.readyState = CLOSING;
    this.socket.destroy();
  }

  writeFrame(opcode, payload) {
    this.socket.cork();
    this.socket.write(clientHeader(opcode, payload.length));
    this.socket.write(payload);
    this.socket.uncork();
  }

  /** Reads the response head; a 101 with the right accept key and subprotocol opens the session. */
  onHead(chunk) {
    this.head = Buffer.concat([this.head, chunk]);
    const end = this.head.indexOf('\r\n\r\n');
    if (end < 0) {
      if (this.head.length > MAX_HEAD_BYTES) this.fail(new Error('Invalid HTTP response: head too long'));
      return;
    }
    const [status, ...fields] = this.head.toString('latin1', 0, end).split('\r\n');
    const code = Number(/^HTTP\/1\.1 (\d{3})/.exec(status)?.[1]);
    if (code !== 101) return this.fail(new Error(`Unexpected server response: ${Number.isFinite(code) ? code : status.slice(0, 40)}`));
    const header = (name) => fields.find((f) => f.toLowerCase().startsWith(`${name}:`))?.slice(name.length + 1).trim();
    const accept = crypto.createHash('sha1').update(this.key + GUID).digest('base64');
    if (header('sec-websocket-accept') !== accept) return this.fail(new Error('Invalid Sec-WebSocket-Accept header'));
    if (header('sec-websocket-protocol') !== this.protocol) return this.fail(new Error('Server sent an invalid subprotocol'));
    clearTimeout(this.handshakeTimer);
    this.readyState = OPEN;
    this.emit('upgrade');
    this.emit('open');
    const rest = this.head.subarray(end + 4);
    this.head = null;
    if (rest.length > 0) this.onFrames(rest);
  }

  /** Server frames (never masked): messages, pings, closes; a frame may span chunks. */
  onFrames(chunk) {
    let buf = this.pending ? Buffer.concat([this.pending, chunk]) : chunk;
    this.pending = null;
    while (buf.length >= 2 && !this.failed && this.readyState !== CLOSED) {
      const fin = (buf[0] & 0x80) !== 0;
      const opcode = buf[0] & 0x0f;
      if (buf[1] & 0x80) return this.fail(new Error('a server frame was masked'));
      let length = buf[1] & 0x7f;
      let offset = 2;
      if (length === 126) {
        if (buf.length < 4) break;
        length = buf.readUInt16BE(2);
        offset = 4;
      } else if (length === 127) {
        if (buf.length < 10) break;
        length = Number(buf.readBigUInt64BE(2));
        offset = 10;
      }
      if (buf.length < offset + length) break;
      const payload = buf.subarray(offset, offset + length);
      buf = buf.subarray(offset + length);
      this.onFrame(fin, opcode, payload);
    }
    if (buf.length > 0 && this.readyState !== CLOSED) this.pending = Buffer.from(buf);
  }

  onFrame(fin, opcode, payload) {
    if (opcode === 0x8) {
      this.closeCode = payload.length >= 2 ? payload.readUInt16BE(0) : 1005;
      if (this.readyState === OPEN) {
        this.writeFrame(0x8, payload.subarray(0, 2));
        this.readyState = CLOSING;
      }
      this.socket.end();
    } else if (opcode === 0x9) {
      if (this.readyState === OPEN) this.writeFrame(0xa, payload);
    } else if (opcode === 0x1 || opcode === 0x2 || opcode === 0x0) {
      if (!fin || this.fragments) {
        (this.fragments ??= []).push(Buffer.from(payload));
        if (!fin) return;
        payload = Buffer.concat(this.fragments);
        this.fragments = null;
      }
      if (this.readyState === OPEN) this.emit('message', payload);
    }
  }

  fail(err) {
    if (this.readyState === CLOSED || this.failed) return;
    this.failed = true;
    this.readyState = CLOSING;
    this.emit('error', err);
    this.socket.destroy();
  }

  onSocketClose() {
    if (this.readyState === CLOSED) return;
    this.readyState = CLOSED;
    clearTimeout(this.handshakeTimer);
    clearTimeout(this.closeTimer);
    this.emit('close', this.closeCode);
  }
}

BenchWebSocket.CONNECTING = CONNECTING;
BenchWebSocket.OPEN = OPEN;
BenchWebSocket.CLOSING = CLOSING;
BenchWebSocket.CLOSED = CLOSED;

module.exports = { BenchWebSocket };
