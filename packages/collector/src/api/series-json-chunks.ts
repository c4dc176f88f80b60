import type { ScannedSeries } from '../store/series-query';

/** About this many characters per chunk: small enough that writing one never holds the event loop long. */
export const SERIES_JSON_CHUNK_CHARS = 16 * 1024;

/**
 * A query answer as JSON text, a chunk at a time: the same text as
 * `JSON.stringify(series.map(toSeriesPoints))` plus a newline (NaN and ±Inf as `null`, like
 * JSON.stringify), so a large answer is written in pieces instead of one long stringify.
 */
export function* seriesJsonChunks(series: readonly ScannedSeries[], chunkChars = SERIES_JSON_CHUNK_CHARS): Generator<string> {
  let out = '[';
  for (let s = 0; s < series.length; s++) {
    const { labels, count, data } = series[s];
    out += `${s > 0 ? ',' : ''}{"labels":${JSON.stringify(labels)},"points":[`;
    for (let i = 0; i < count; i++) {
      out += `${i > 0 ? ',' : ''}[${jsonNumber(data[2 * i])},${jsonNumber(data[2 * i + 1])}]`;
      if (out.length >= chunkChars) {
        yield out;
        out = '';
      }
    }
    out += ']}';
  }
  yield `${out}]\n`;
}

function jsonNumber(n: number): string {
  return Number.isFinite(n) ? String(n) : 'null';
}
