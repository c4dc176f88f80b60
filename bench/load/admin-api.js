'use strict';
/**
 * The collector's admin API as the CLI calls it, signed in as the admin client that init wrote
 * into cli.yaml (client credentials grant), over kept-alive TLS 1.3 connections (at most
 * `maxSockets` at once), so a thousand calls do not cost a thousand handshakes.
 */
const fs = require('node:fs');
const https = require('node:https');

function adminApi(cliConfigFile, apiPort, caPem, { maxSockets = 32 } = {}) {
  const cli = fs.readFileSync(cliConfigFile, 'utf8');
  const id = /client_id: "?([^"\n]+)/.exec(cli)[1];
  const secret = /client_secret: "?([^"\n]+)/.exec(cli)[1];
  const agent = new https.Agent({ keepAlive: true, maxSockets, ca: caPem, servername: 'localhost', minVersion: 'TLSv1.3' });
  const request = (method, urlPath, headers, body) =>
    new Promise((resolve, reject) => {
      const req = https.request({ host: '127.0.0.1', port: apiPort, path: urlPath, method, headers, agent, timeout: 30_000 }, (res) => {
        let text = '';
        res.on('data', (c) => (text += c.toString()));
        res.on('end', () => resolve({ status: res.statusCode, body: text }));
      });
      req.on('timeout', () => req.destroy(new Error(`${method} ${urlPath} timed out`)));
      req.on('error', reject);
      req.end(body);
    });
  let token = null;
  return {
    /** Gets the access token (and opens one connection) before anything is timed. */
    async signIn() {
      if (token !== null) return;
      const form = new URLSearchParams({ grant_type: 'client_credentials', client_id: id, client_secret: secret }).toString();
      const grant = await request('POST', '/api/v1/token', { 'Content-Type': 'application/x-www-form-urlencoded' }, form);
      if (grant.status !== 200) throw new Error(`token grant answered ${grant.status}`);
      token = JSON.parse(grant.body).access_token;
    },
    /** One call; `json`, when given, is sent as the JSON body. */
    async call(method, urlPath, json) {
      await this.signIn();
      if (json === undefined) return request(method, urlPath, { Authorization: `Bearer ${token}` });
      return request(method, urlPath, { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' }, JSON.stringify(json));
    },
    close() {
      agent.destroy();
    },
  };
}

module.exports = { adminApi };
