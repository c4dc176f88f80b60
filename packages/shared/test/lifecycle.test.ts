import t from 'tap';
import { serveUntilSignalled } from '../src/lifecycle';

function recordingLog() {
  const lines: string[] = [];
  const add = (_obj: object, msg: string): void => void lines.push(msg);
  return { lines, log: { info: add, error: add, fatal: add } };
}

t.test('a signal during a start that never ends stops the service at once', async (t) => {
  const { log } = recordingLog();
  let stops = 0;
  const service = { start: () => new Promise<void>(() => undefined), stop: async () => void stops++ };
  const code = serveUntilSignalled(service, log, 'test');
  process.emit('SIGTERM');
  t.equal(await code, 0, 'exit status 0 without waiting for start');
  t.equal(stops, 1);
});

t.test('after a normal start, SIGINT stops it; a failing stop is status 1', async (t) => {
  const { log, lines } = recordingLog();
  const ok = serveUntilSignalled({ start: async () => undefined, stop: async () => undefined }, log, 'test');
  await new Promise((r) => setImmediate(r));
  process.emit('SIGINT');
  t.equal(await ok, 0);
  const failing = serveUntilSignalled({ start: async () => undefined, stop: () => Promise.reject(new Error('disk gone')) }, log, 'test');
  await new Promise((r) => setImmediate(r));
  process.emit('SIGTERM');
  t.equal(await failing, 1);
  t.ok(lines.includes('test stop failed'));
});

t.test('a start that fails is status 1, after stopping what it began', async (t) => {
  const { log, lines } = recordingLog();
  let stops = 0;
  const code = await serveUntilSignalled({ start: () => Promise.reject(new Error('port in use')), stop: async () => void stops++ }, log, 'test');
  t.equal(code, 1);
  t.equal(stops, 1);
  t.ok(lines.includes('test failed to start'));
  process.emit('SIGTERM'); // its signal handlers are still registered once: harmless now
});
