import t from 'tap';
import { OidcFlowStore } from '../src/web/oidc-flow-store';

const flow = (n: number) => ({ state: `state-${n}`, nonce: `nonce-${n}`, codeVerifier: `verifier-${n}` });

t.test('a flow is found once, by its random key', async (t) => {
  const store = new OidcFlowStore({ now: () => 0 });
  const key = store.put(flow(1));
  t.match(key, /^[A-Za-z0-9_-]{43}$/);
  t.same(store.take(key), { kind: 'found', flow: flow(1) });
  t.same(store.take(key), { kind: 'unknown' }, 'a replay finds nothing');
  t.same(store.take(undefined), { kind: 'unknown' });
  t.same(store.take('made-up'), { kind: 'unknown' });
});

t.test('a flow older than its lifetime is expired, and pruned as new ones arrive', async (t) => {
  let now = 1_000;
  const store = new OidcFlowStore({ now: () => now, ttlMs: 600_000 });
  const late = store.put(flow(1));
  now += 600_000;
  t.same(store.take(late), { kind: 'expired' });
  store.put(flow(2));
  now += 600_000;
  store.put(flow(3));
  t.equal(store.size, 1, 'the expired one went when the next arrived');
});

t.test('bounded: beyond maxEntries the oldest is dropped and counted', async (t) => {
  const store = new OidcFlowStore({ now: () => 0, maxEntries: 3 });
  const keys = [1, 2, 3, 4, 5].map((n) => store.put(flow(n)));
  t.equal(store.size, 3);
  t.equal(store.dropped, 2);
  t.same(store.take(keys[0]), { kind: 'unknown' });
  t.same(store.take(keys[4]), { kind: 'found', flow: flow(5) });
});
