import * as os from 'node:os';
import t from 'tap';
import { collectHostFacts, collectHostFactsAside, osHostFacts } from '../src/host-facts';

const loaded = (): boolean => Object.keys(require.cache).some((file) => file.includes(`${'/'}systeminformation${'/'}`));

t.test('host facts are read in a child process: systeminformation never loads into the agent', async (t) => {
  t.notOk(loaded(), 'not loaded before');
  const facts = await collectHostFactsAside();
  t.notOk(loaded(), 'not loaded after');
  t.equal(facts.hostname, os.hostname());
  t.equal(facts.runtime, `node ${process.version}`, 'the runtime that runs the agent');
  // The same facts as systeminformation gives in this process (virtualization may hit its
  // deadline on a loaded machine: only its type is compared).
  const here = await collectHostFacts();
  t.ok(loaded(), 'the check above does see it once loaded');
  t.same({ ...facts, virtualization: '' }, { ...here, virtualization: '' });
  t.type(facts.virtualization, 'string');
});

t.test('a child that cannot answer leaves the os module facts', async (t) => {
  const started = Date.now();
  // A deadline too short for the child to start: it is killed, and the facts fall back.
  const facts = await collectHostFactsAside(-4999);
  t.ok(Date.now() - started < 5000);
  t.same(facts, osHostFacts());
});
