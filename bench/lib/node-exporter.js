'use strict';
/**
 * Debian's prometheus-node-exporter as the bench's anchor: started on a free loopback port with
 * its default collectors, scraped over plain HTTP the way Prometheus would.
 */
const fs = require('node:fs');
const http = require('node:http');
const { spawn } = require('node:child_process');
const { freePort } = require('./collector-process');

const NODE_EXPORTER_BINARY = '/usr/bin/prometheus-node-exporter';
const NODE_EXPORTER_PACKAGE = 'prometheus-node-exporter';

/** The binary's path, or null when Debian's package is not installed. */
function nodeExporterBinary(binary = NODE_EXPORTER_BINARY) {
  try {
    fs.accessSync(binary, fs.constants.X_OK);
    return binary;
  } catch {
    return null;
  }
}

/** One GET of `url`: resolves with the body, rejects on a status other than 200 or after timeoutMs. */
function httpGet(url, timeoutMs = 10_000) {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { timeout: timeoutMs }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => (res.statusCode === 200 ? resolve(Buffer.concat(chunks).toString('utf8')) : reject(new Error(`GET ${url}: ${res.statusCode}`))));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`GET ${url}: no answer within ${timeoutMs} ms`)));
    req.on('error', reject);
  });
}

/** The number of series in a Prometheus text exposition: its sample lines. */
function countSeries(text) {
  let n = 0;
  for (const line of text.split('\n')) if (line !== '' && !line.startsWith('#')) n++;
  return n;
}

/**
 * Starts node_exporter on 127.0.0.1:<free port> and resolves once /metrics answers:
 * `{ pid, url, version, stop() }`.
 */
async function startNodeExporter({ binary = NODE_EXPORTER_BINARY, startTimeoutMs = 15_000 } = {}) {
  const port = await freePort();
  const child = spawn(binary, [`--web.listen-address=127.0.0.1:${port}`], { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  child.stderr.on('data', (c) => (err = (err + c.toString()).slice(-8192)));
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.once('error', (e) => (err += `\n${e.message}`));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    const killer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(killer);
  };
  const url = `http://127.0.0.1:${port}/metrics`;
  const deadline = Date.now() + startTimeoutMs;
  for (;;) {
    try {
      const body = await httpGet(url, 2000);
      const version = /node_exporter_build_info\{[^}]*version="([^"]+)"/.exec(body)?.[1] ?? 'unknown';
      return { pid: child.pid, url, version, stop };
    } catch (e) {
      if (Date.now() > deadline || child.exitCode !== null || child.signalCode !== null) {
        await stop();
        throw new Error(`node_exporter did not answer on ${url}: ${e.message}\n${err}`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

module.exports = { NODE_EXPORTER_BINARY, NODE_EXPORTER_PACKAGE, nodeExporterBinary, startNodeExporter, httpGet, countSeries };
