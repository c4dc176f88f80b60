import t from 'tap';
import { uncompress } from 'snappyjs';
import { REMOTE_WRITE_HEADERS, WriteRequestType, encodeWriteRequest } from '../src/store/remote-write/write-request';

interface Decoded {
  timeseries?: { labels: { name: string; value: string }[]; samples: { value: number; timestamp: number }[] }[];
}

function decode(body: Uint8Array): Decoded {
  const message = WriteRequestType.decode(uncompress(body));
  return WriteRequestType.toObject(message, { longs: Number, defaults: true }) as Decoded;
}

t.test('a request decodes to the series sent: __name__ added, labels sorted, samples in order', async (t) => {
  const body = encodeWriteRequest([
    {
      name: 'node_cpu_seconds_total',
      labels: { mode: 'idle', job: 'ximp', instance: 'web-1', cpu: '0' },
      samples: [
        [1_700_000_000_000, 12.5],
        [1_700_000_010_000, 22.5],
      ],
    },
    { name: 'node_load1', labels: { instance: 'web-1', job: 'ximp' }, samples: [[1_700_000_000_000, 0.25]] },
  ]);
  const decoded = decode(body);
  t.equal(decoded.timeseries?.length, 2);
  t.same(
    decoded.timeseries![0].labels.map((l) => l.name),
    ['__name__', 'cpu', 'instance', 'job', 'mode'],
    'labels sorted by name, as the specification requires',
  );
  t.equal(decoded.timeseries![0].labels[0].value, 'node_cpu_seconds_total');
  t.same(decoded.timeseries![0].samples, [
    { value: 12.5, timestamp: 1_700_000_000_000 },
    { value: 22.5, timestamp: 1_700_000_010_000 },
  ]);
  t.same(decoded.timeseries![1].samples, [{ value: 0.25, timestamp: 1_700_000_000_000 }]);
});

t.test('special values survive; a series without samples is left out', async (t) => {
  const decoded = decode(
    encodeWriteRequest([
      { name: 'a', labels: {}, samples: [[1, NaN], [2, Infinity], [3, -Infinity], [4, -0]] },
      { name: 'empty', labels: {}, samples: [] },
    ]),
  );
  t.equal(decoded.timeseries?.length, 1);
  const values = decoded.timeseries![0].samples.map((s) => s.value);
  t.ok(Number.isNaN(values[0]));
  t.same(values.slice(1, 3), [Infinity, -Infinity]);
  t.ok(Object.is(values[3], -0));
});

t.test('refuses what a receiver would refuse or misread', async (t) => {
  t.throws(() => encodeWriteRequest([{ name: 'a', labels: { __name__: 'b' }, samples: [[1, 1]] }]), /__name__/);
  t.throws(() => encodeWriteRequest([{ name: 'a', labels: {}, samples: [[2, 1], [1, 1]] }]), /out of order/);
});

t.test('the headers remote write 1.0 requires', async (t) => {
  t.same(REMOTE_WRITE_HEADERS, {
    'Content-Type': 'application/x-protobuf',
    'Content-Encoding': 'snappy',
    'X-Prometheus-Remote-Write-Version': '0.1.0',
  });
});
