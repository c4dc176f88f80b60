import t from 'tap';
import { RESERVED_METRIC_NAMES, seriesProblem } from '../src/protocol/series-rules';

t.test('the collector\'s own metric names are refused before an agent spools them', async (t) => {
  t.ok(RESERVED_METRIC_NAMES.has('up'));
  t.equal(seriesProblem('up', {}), 'metric name reserved for the collector');
  t.equal(seriesProblem('up', { job: 'x' }), 'metric name reserved for the collector', 'with any labels');
  t.equal(seriesProblem('node_up', {}), null);
  t.equal(seriesProblem('upper', {}), null);
});
