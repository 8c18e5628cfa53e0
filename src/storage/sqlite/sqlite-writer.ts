// The writer thread: a worker that owns SQLite's write connection. The repository sends it each
// batch of writes (plain data) and it answers once the batch is committed and fsynced
// (synchronous=FULL). SQL execution, the fsync and WAL checkpoints therefore run beside the event
// loop instead of on it; the event loop only queues writes and settles their promises.
import { parentPort, workerData } from 'node:worker_threads';
import { openStore, runBatch, type WriteOp, type WriteOutcome } from './sqlite-store.js';

export interface BatchRequest {
  id: number;
  ops: WriteOp[];
}
export type BatchReply = { id: number; results: WriteOutcome[] } | { id: number; failed: string };

const port = parentPort;
if (port) {
  const store = openStore((workerData as { file: string }).file);
  port.on('message', (message: BatchRequest | 'close') => {
    if (message === 'close') {
      store.db.close();
      port.close();
      return;
    }
    let reply: BatchReply;
    try {
      reply = { id: message.id, results: runBatch(store, message.ops) };
    } catch (error) {
      reply = { id: message.id, failed: error instanceof Error ? error.message : String(error) };
    }
    port.postMessage(reply);
  });
}
