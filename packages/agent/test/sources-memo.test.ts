import t from 'tap';
import { boundedMemo, lastInputMemo } from '../src/sources/memo';

t.test('lastInputMemo derives again when the input changes, and never remembers a throw', async (t) => {
  const calls: string[] = [];
  const parse = lastInputMemo((text) => {
    calls.push(text);
    if (text === 'bad') throw new Error('unreadable');
    return { text };
  });
  const first = parse('a');
  t.equal(parse('a'), first, 'the same input: the same value, not derived again');
  t.same(parse('b'), { text: 'b' });
  t.throws(() => parse('bad'), /unreadable/);
  t.throws(() => parse('bad'), /unreadable/, 'a throw is thrown again, not a stale value answered');
  t.same(parse('a'), { text: 'a' });
  t.same(calls, ['a', 'b', 'bad', 'bad', 'a']);
});

t.test('boundedMemo answers every key right, and remembers only the first maxKeys of them', async (t) => {
  let derived = 0;
  const name = boundedMemo((key) => {
    derived++;
    return `n_${key}`;
  }, 2);
  t.same(['a', 'b', 'a', 'b'].map(name), ['n_a', 'n_b', 'n_a', 'n_b']);
  t.equal(derived, 2, 'a and b remembered');
  t.same(['c', 'c', 'a'].map(name), ['n_c', 'n_c', 'n_a']);
  t.equal(derived, 4, 'c, past the bound, is derived each time');
  const nullable = boundedMemo((key) => (key === 'x' ? null : key), 4);
  t.equal(nullable('x'), null);
  t.equal(nullable('x'), null, 'a remembered null is answered as null');
});
