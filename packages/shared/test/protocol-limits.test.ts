import t from 'tap';
import { AGENT_BATCH_BOUNDS } from '../src/protocol/series-rules';
import { DEFAULT_LIMITS } from '../src/protocol/limits';

t.test('default protocol limits (SPEC §7) and what every agent batch stays within', async (t) => {
  t.equal(DEFAULT_LIMITS.maxFrameBytes, 1024 * 1024, 'frames: 1 MiB');
  t.ok(Object.isFrozen(DEFAULT_LIMITS));
  t.ok(DEFAULT_LIMITS.maxFrameBytes >= AGENT_BATCH_BOUNDS.frameBytes, 'an agent batch fits the default frame');
  t.ok(DEFAULT_LIMITS.maxSamplesPerBatch >= AGENT_BATCH_BOUNDS.samples);
  t.ok(DEFAULT_LIMITS.maxLabelsPerSeries >= AGENT_BATCH_BOUNDS.labelsPerSeries);
  t.ok(DEFAULT_LIMITS.maxSeriesPerSession >= DEFAULT_LIMITS.maxSamplesPerBatch, 'one full batch of new series fits a session');
});
