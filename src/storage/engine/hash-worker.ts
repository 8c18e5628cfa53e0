// Runs in a worker thread: hashes the blocks of one buffer (see HashPool), after reading them from
// a disk's raw file when asked; or reads a snapshot copy's scattered blocks into memory of its
// own and answers their stored forms (see encodeBlock); commits a snapshot copy's
// checkpoints in the engine index (see copy-checkpoint.ts); and checkpoints the index's
// write-ahead log (see EngineDb), so that the event loop does neither.
import { closeSync, openSync, readSync } from 'node:fs';
import { parentPort } from 'node:worker_threads';
import { encodeBlock, looksCompressible, NOT_ENCODED } from './chunk-store.js';
import { chunkIdWriter, type ChunkIdAlgorithm } from './chunk-id.js';
import { commitCheckpoint, type PostedCheckpoint } from './copy-checkpoint.js';
import { EngineDb } from './engine-db.js';

export interface HashRequest {
  id: number;
  /** The buffer to hash (or to read into first); absent with `store`. */
  data?: ArrayBuffer;
  length: number;
  /** What to hash with (the store's chunk ids). */
  idAlgorithm: ChunkIdAlgorithm;
  /** Hash each block of this size (all-zero blocks are reported, not hashed)… */
  blockSize: number;
  /** …or, when given, exactly these (offset, length) ranges. */
  ranges?: Uint32Array;
  /**
   * Read the data from this file first: per run, (offset in the buffer, offset in the file, bytes
   * to read, bytes the run spans in the buffer); what the file does not have is zeros.
   */
  file?: string;
  runs?: Float64Array;
  /**
   * Read `file` into memory of the worker's own, and answer each non-zero block's stored form
   * (chunk-store's encodeBlock: compressed where it pays, or its sector ids and bytes for a block
   * to be stored as its parts) instead of the data: a copy's scattered blocks, which it needs only
   * to store. Their buffers are not sent to and fro: each transfer counted as new memory in V8
   * until a collection, and an incremental's collections were a third of its CPU.
   */
  store?: boolean;
}

export interface HashReply {
  id: number;
  /** The buffer, handed back (none with `store`). */
  data?: ArrayBuffer;
  /** A 32-byte chunk id per block; all zero for a block that is all zeros. */
  hashes: ArrayBuffer;
  /** Per block: 1 all zeros, 2 worth compressing (looksCompressible), 0 neither. */
  zero: Uint8Array;
  /** Why the file could not be read (then nothing is hashed). */
  error?: string;
  /**
   * With `store`: per block, its codec (NOT_ENCODED for an all-zero block) and stored length,
   * the stored forms one after the other in `stored`.
   */
  codecs?: Uint8Array;
  storedLengths?: Uint32Array;
  stored?: ArrayBuffer;
}

/** Copy the write-ahead log of this engine index into it (a PASSIVE checkpoint: writers go on). */
export interface CheckpointRequest {
  id: number;
  checkpoint: string;
}

/** Commit a snapshot copy's checkpoint in this engine index. */
export interface CommitRequest {
  id: number;
  commit: string;
  posted: PostedCheckpoint;
}

/** How a CheckpointRequest or a CommitRequest went. */
export interface IndexReply {
  id: number;
  /** Why it failed (a failed log checkpoint is tried again later; a failed commit fails the copy). */
  error?: string;
}

/** The index's connection, opened at the first request that needs it (a worker serves one engine). */
let index: { file: string; db: EngineDb } | undefined;

function onIndex(file: string, id: number, work: (db: EngineDb) => void): IndexReply {
  try {
    if (index?.file !== file) {
      index?.db.close();
      index = undefined;
      // Its log is checkpointed by the requests above, not in its commits.
      index = { file, db: new EngineDb(file, 'elsewhere') };
    }
    work(index.db);
    return { id };
  } catch (error) {
    return { id, error: error instanceof Error ? error.message : String(error) };
  }
}

/** Reads the runs of a HashRequest into `data`; returns why it could not, if it could not. */
function readRuns(file: string, runs: Float64Array, data: Buffer): string | undefined {
  let fd: number | undefined;
  try {
    fd = openSync(file, 'r');
    for (let i = 0; i < runs.length; i += 4) {
      const [at, offset, length, span] = [runs[i], runs[i + 1], runs[i + 2], runs[i + 3]] as number[];
      let done = 0;
      while (done < (length as number)) {
        const got = readSync(
          fd,
          data,
          (at as number) + done,
          (length as number) - done,
          (offset as number) + done,
        );
        if (got === 0) break;
        done += got;
      }
      data.fill(0, (at as number) + done, (at as number) + (span as number));
    }
    return undefined;
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/**
 * Where the blocks of a `store` request are read: kept for the next (up to OWN_BUFFER_KEPT bytes;
 * a larger group, rare, gets a buffer of its own), not allocated per request.
 */
let own = Buffer.alloc(0);
const OWN_BUFFER_KEPT = 1024 * 1024;

function ownBuffer(length: number): Buffer {
  if (length > OWN_BUFFER_KEPT) return Buffer.allocUnsafeSlow(length);
  if (own.length < length) own = Buffer.allocUnsafeSlow(OWN_BUFFER_KEPT);
  return own.subarray(0, length);
}

/** All zeros, one block long: kept, not allocated per request (garbage grows a worker's heap). */
let zeros = Buffer.alloc(0);

parentPort?.on('message', (request: HashRequest | CheckpointRequest | CommitRequest) => {
  if ('commit' in request) {
    const reply = onIndex(request.commit, request.id, (db) => commitCheckpoint(db, request.posted));
    parentPort?.postMessage(reply satisfies IndexReply);
    return;
  }
  if ('checkpoint' in request) {
    const reply = onIndex(request.checkpoint, request.id, (db) => db.checkpointLog());
    parentPort?.postMessage(reply satisfies IndexReply);
    return;
  }
  const data = request.data ? Buffer.from(request.data, 0, request.length) : ownBuffer(request.length);
  /** The request's buffer, handed back (and transferred), if it sent one. */
  const back = request.data ? { data: request.data } : {};
  const backTransfer = request.data ? [request.data] : [];
  const writeId = chunkIdWriter(request.idAlgorithm);
  if (request.ranges) {
    const count = request.ranges.length / 2;
    const hashes = Buffer.alloc(count * 32);
    for (let i = 0; i < count; i++) {
      const at = request.ranges[2 * i] as number;
      const part = data.subarray(at, at + (request.ranges[2 * i + 1] as number));
      writeId(part, hashes, i * 32);
    }
    const reply: HashReply = { id: request.id, ...back, hashes: hashes.buffer, zero: new Uint8Array(count) };
    parentPort?.postMessage(reply, [...backTransfer, hashes.buffer]);
    return;
  }
  if (request.file) {
    const error = readRuns(request.file, request.runs ?? new Float64Array(0), data);
    if (error !== undefined) {
      const reply: HashReply = {
        id: request.id,
        ...back,
        hashes: new ArrayBuffer(0),
        zero: new Uint8Array(0),
        error,
      };
      parentPort?.postMessage(reply, backTransfer);
      return;
    }
  }
  const blocks = Math.ceil(request.length / request.blockSize);
  const hashes = Buffer.alloc(blocks * 32);
  const zero = new Uint8Array(blocks);
  if (zeros.length !== request.blockSize) zeros = Buffer.alloc(request.blockSize);
  for (let i = 0; i < blocks; i++) {
    const block = data.subarray(i * request.blockSize, Math.min(request.length, (i + 1) * request.blockSize));
    if (block.equals(zeros.subarray(0, block.length))) {
      zero[i] = 1;
      continue;
    }
    if (looksCompressible(block)) zero[i] = 2;
    writeId(block, hashes, i * 32);
  }
  const reply: HashReply = { id: request.id, ...back, hashes: hashes.buffer, zero };
  const transfer = [...backTransfer, hashes.buffer];
  if (request.store) {
    const parts: Buffer[] = [];
    reply.codecs = new Uint8Array(blocks).fill(NOT_ENCODED);
    reply.storedLengths = new Uint32Array(blocks);
    for (let i = 0; i < blocks; i++) {
      if (zero[i] === 1) continue;
      const { codec, stored, sectors } = encodeBlock(
        data.subarray(i * request.blockSize, Math.min(request.length, (i + 1) * request.blockSize)),
        zero[i] === 2,
        writeId,
      );
      reply.codecs[i] = codec;
      // A block to store as its parts: its sectors' ids, then its bytes (whichever sectors the
      // index does not have yet are stored from them).
      reply.storedLengths[i] = stored.length + (sectors?.length ?? 0);
      parts.push(stored);
      if (sectors) parts.push(sectors);
    }
    // One buffer of its own (never a slice of Node's shared pool), so that it can be transferred.
    const stored = new Uint8Array(new ArrayBuffer(parts.reduce((sum, p) => sum + p.length, 0)));
    let at = 0;
    for (const part of parts) {
      stored.set(part, at);
      at += part.length;
    }
    reply.stored = stored.buffer;
    transfer.push(stored.buffer);
  }
  parentPort?.postMessage(reply, transfer);
});
