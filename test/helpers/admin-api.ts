import * as fs from 'node:fs';
import * as https from 'node:https';

export interface ApiAnswer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** Calls the API as the admin client of a test's CLI config (grant once, then bearer). */
export type AdminApi = (method: string, path: string, json?: unknown) => Promise<ApiAnswer>;

/**
 * An admin's HTTPS client (TLS 1.3, the collector's CA) with the client credentials from the
 * test's CLI config, for asserting on statuses and headers the CLI does not show.
 */
export async function adminApi(c: { cliConfig: string; caFile: string; apiPort: number }): Promise<AdminApi> {
  const cli = fs.readFileSync(c.cliConfig, 'utf8');
  const id = /client_id: "?([^"\n]+)/.exec(cli)![1];
  const secret = /client_secret: "?([^"\n]+)/.exec(cli)![1];
  const ca = fs.readFileSync(c.caFile);
  const call = (method: string, path: string, headers: Record<string, string>, body?: string) =>
    new Promise<ApiAnswer>((resolve, reject) => {
      const req = https.request(
        { host: '127.0.0.1', port: c.apiPort, method, path, headers, ca, servername: 'localhost', minVersion: 'TLSv1.3', agent: false },
        (res) => {
          let text = '';
          res.on('data', (d: Buffer) => (text += d.toString()));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text }));
        },
      );
      req.setTimeout(5000, () => req.destroy(new Error('admin request timed out')));
      req.on('error', reject);
      req.end(body);
    });
  const form = new URLSearchParams({ grant_type: 'client_credentials', client_id: id, client_secret: secret }).toString();
  const grant = await call('POST', '/api/v1/token', { 'Content-Type': 'application/x-www-form-urlencoded' }, form);
  const { access_token: token } = JSON.parse(grant.body) as { access_token: string };
  return (method, path, json) =>
    call(
      method,
      path,
      json === undefined ? { Authorization: `Bearer ${token}` } : { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
      json === undefined ? undefined : JSON.stringify(json),
    );
}
