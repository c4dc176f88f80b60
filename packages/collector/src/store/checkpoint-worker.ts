// Worker-thread entry of WalCheckpointer: runs PASSIVE checkpoints of the collector's database
// on a connection of its own, so the copy of WAL pages into the database file and the two
// fsyncs a checkpoint makes never run on the event loop that serves agents.
import { parentPort, workerData } from 'node:worker_threads';
import BetterSqlite3 = require('better-sqlite3');

export interface CheckpointResult {
  /** Frames in the WAL and frames now copied to the database file (SQLite's `log` and `checkpointed`). */
  log: number;
  checkpointed: number;
  ms: number;
}

export type CheckpointAnswer = CheckpointResult | { error: string };

const db = new BetterSqlite3((workerData as { file: string }).file, { fileMustExist: true });
// This connection only checkpoints; a checkpoint never waits for the writer (PASSIVE).
db.pragma('wal_autocheckpoint = 0');

parentPort!.on('message', () => {
  const started = performance.now();
  let answer: CheckpointAnswer;
  try {
    const [row] = db.pragma('wal_checkpoint(PASSIVE)') as { busy: number; log: number; checkpointed: number }[];
    answer = { log: row.log, checkpointed: row.checkpointed, ms: performance.now() - started };
  } catch (err) {
    answer = { error: (err as Error).message };
  }
  parentPort!.postMessage(answer);
});
