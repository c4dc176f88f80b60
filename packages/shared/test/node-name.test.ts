import t from 'tap';
import { MAX_NODE_NAME_LENGTH, NODE_NAME_FORM, isNodeName } from '../src/node-name';

t.test('node names are [a-z0-9] then [a-z0-9.-], at most 253 characters (SPEC §3)', async (t) => {
  for (const ok of ['a', '0', 'compute-node-04', 'n1.rack-12.example', 'a-', 'a.', '9.9.9.9', 'a'.repeat(253)]) {
    t.ok(isNodeName(ok), `${ok.slice(0, 20)} is a node name`);
  }
  t.equal(MAX_NODE_NAME_LENGTH, 253);
  t.notOk(isNodeName('a'.repeat(254)), '254 characters is too long');
  for (const bad of ['', '-a', '.a', 'A', 'Node', 'a_b', 'a b', 'a/b', 'nöde', 'a\n', '\na', 'a:1']) {
    t.notOk(isNodeName(bad), `${JSON.stringify(bad)} is refused`);
  }
  for (const notText of [undefined, null, 42, ['a'], { toString: () => 'a' }]) {
    t.notOk(isNodeName(notText), 'only strings are node names');
  }
  t.match(NODE_NAME_FORM, /at most 253 characters/);
});
