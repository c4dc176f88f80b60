// How a dashboard panel's matchers and group-by labels are typed in the form and read back.
import t from 'tap';
import { formatMatchers, parseBy, parseMatchers } from '../src/pages/dashboard-panel-text';

t.test('matchers: label=value pairs, comma-separated, quotes optional', async (t) => {
  t.same(parseMatchers(''), {});
  t.same(parseMatchers(' mode=idle, cpu = "0" '), { mode: 'idle', cpu: '0' });
  t.same(parseMatchers('mountpoint=/var/lib'), { mountpoint: '/var/lib' });
  t.equal(formatMatchers(parseMatchers('mode=idle, cpu=0')), 'mode=idle, cpu=0', 'read back as typed');
});

t.test('a matcher that is not label=value, a bad label name or a repeat is refused by name', async (t) => {
  t.throws(() => parseMatchers('mode'), /"mode" is not label=value/);
  t.throws(() => parseMatchers('=x'), /not label=value/);
  t.throws(() => parseMatchers('1mode=x'), /"1mode" is not a label name/);
  t.throws(() => parseMatchers('a=1, a=2'), /a is given twice/);
});

t.test('group-by: label names, comma-separated', async (t) => {
  t.same(parseBy(''), []);
  t.same(parseBy('mode, cpu'), ['mode', 'cpu']);
  t.throws(() => parseBy('mode, bad-name'), /"bad-name" is not a label name/);
});
