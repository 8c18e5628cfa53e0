// Runs in a worker thread: hashes the blocks of one buffer and compresses those worth it (see
// HashPool).
import { createHash } from 'node:crypto';
import { parentPort } from 'node:worker_threads';
import { compressBlock, looksCompressible } from './chunk-store.js';

export interface HashRequest {
  id: number;
  data: ArrayBuffer;
  length: number;
  /** Hash each block of this size (all-zero blocks are reported, not hashed)… */
  blockSize: number;
  /** …or, when given, exactly these (offset, length) ranges. */
  ranges?: Uint32Array;
}

export interface HashReply {
  id: number;
  /** The buffer, handed back. */
  data: ArrayBuffer;
  /** 32 bytes per block; all zero for a block that is all zeros. */
  hashes: ArrayBuffer;
  /** Per block: 1 all zeros, 2 worth compressing (looksCompressible), 0 neither. */
  zero: Uint8Array;
  /**
   * Per block, where kind 2: its compressed bytes in `deflated` as (offset, length); length 0 when
   * it was not tried here (its content was compressed a moment ago: it is likely stored already);
   * 0xffffffff when compressing does not pay.
   */
  deflatedAt?: Uint32Array;
  deflated?: ArrayBuffer;
}

/** Content compressed recently by this worker: repeats (text, logs) are mostly stored already. */
const recent = new Set<string>();
const RECENT_LIMIT = 8192;
export const NOT_WORTH = 0xffffffff;

parentPort?.on('message', (request: HashRequest) => {
  const data = Buffer.from(request.data, 0, request.length);
  if (request.ranges) {
    const count = request.ranges.length / 2;
    const hashes = Buffer.alloc(count * 32);
    for (let i = 0; i < count; i++) {
      const at = request.ranges[2 * i] as number;
      const part = data.subarray(at, at + (request.ranges[2 * i + 1] as number));
      createHash('sha256')
        .update(part)
        .digest()
        .copy(hashes, i * 32);
    }
    const reply: HashReply = {
      id: request.id,
      data: request.data,
      hashes: hashes.buffer,
      zero: new Uint8Array(count),
    };
    parentPort?.postMessage(reply, [request.data, hashes.buffer]);
    return;
  }
  const blocks = Math.ceil(request.length / request.blockSize);
  const hashes = Buffer.alloc(blocks * 32);
  const zero = new Uint8Array(blocks);
  const zeros = Buffer.alloc(request.blockSize);
  const deflatedAt = new Uint32Array(blocks * 2);
  const deflated: Buffer[] = [];
  let deflatedBytes = 0;
  for (let i = 0; i < blocks; i++) {
    const block = data.subarray(i * request.blockSize, Math.min(request.length, (i + 1) * request.blockSize));
    if (block.equals(zeros.subarray(0, block.length))) {
      zero[i] = 1;
      continue;
    }
    const digest = createHash('sha256').update(block).digest();
    digest.copy(hashes, i * 32);
    if (!looksCompressible(block)) continue;
    zero[i] = 2;
    const key = digest.toString('latin1');
    if (recent.has(key)) continue;
    if (recent.size >= RECENT_LIMIT) recent.clear();
    recent.add(key);
    const compressed = compressBlock(block);
    if (!compressed) {
      deflatedAt[2 * i + 1] = NOT_WORTH;
      continue;
    }
    deflatedAt[2 * i] = deflatedBytes;
    deflatedAt[2 * i + 1] = compressed.length;
    deflated.push(compressed);
    deflatedBytes += compressed.length;
  }
  const all = Buffer.concat(deflated, deflatedBytes);
  const own =
    all.byteOffset === 0 && all.buffer.byteLength === all.length
      ? all.buffer
      : all.buffer.slice(all.byteOffset, all.byteOffset + all.length);
  const reply: HashReply = {
    id: request.id,
    data: request.data,
    hashes: hashes.buffer,
    zero,
    deflatedAt,
    deflated: own as ArrayBuffer,
  };
  parentPort?.postMessage(reply, [request.data, hashes.buffer]);
});
