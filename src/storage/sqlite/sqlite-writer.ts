// The writer thread: a worker that owns SQLite's write connection. The repository sends it each
// batch of writes (plain data) and it answers once the batch is committed and fsynced
// (synchronous=FULL). SQL execution, the fsync and WAL checkpoints therefore run beside the event
// loop instead of on it; the event loop only queues writes and settles their promises.
import { parentPort, workerData } from 'node:worker_threads';
import { openStore, runBatch, type WriteOp, type WriteOutcome } from './sqlite-store.js';

// Batches cross as JSON text: every value written is JSON data (strings, numbers, booleans,
// plain records and arrays), and one string is much cheaper to post than a structured clone of
// many small records.
/** JSON of WriteOp[]. */
export type BatchRequest = string;
/** JSON of WriteOutcome[] (the batch's writes, in order), or of { failed, code }: nothing was written. */
export type BatchReply = string;
export type BatchReplyData = WriteOutcome[] | { failed: string; code?: string };

const port = parentPort;
if (port) {
  const store = openStore((workerData as { file: string }).file);
  // Batches are answered in the order they arrive.
  port.on('message', (message: BatchRequest | { close: true }) => {
    if (typeof message !== 'string') {
      store.db.close();
      port.close();
      return;
    }
    let reply: BatchReplyData;
    try {
      reply = runBatch(store, JSON.parse(message) as WriteOp[]);
    } catch (error) {
      // The code too (SQLITE_FULL: the disk is full), so that the client can be told so.
      reply = {
        failed: error instanceof Error ? error.message : String(error),
        code:
          (error as { code?: unknown }).code === undefined
            ? undefined
            : String((error as { code?: unknown }).code),
      };
    }
    port.postMessage(JSON.stringify(reply) satisfies BatchReply);
  });
}
