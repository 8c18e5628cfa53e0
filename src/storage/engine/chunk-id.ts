// How a chunk's id is computed from its uncompressed bytes. A store fixes its algorithm once, when
// its index is made (engine.db's `settings`), and keeps it: ids are compared across every disk and
// snapshot, so one store never mixes two. Stores made since index migration 4 use BLAKE3; stores
// that already held chunks then keep SHA-256.
//
// Why BLAKE3: hashing is most of a snapshot copy's CPU (every block read is hashed) and a restore
// checks every chunk it reads against its id. On this project's 2-vCPU machine, 16 KiB blocks hash
// at about 4.2 GB/s with BLAKE3 and 1.5 GB/s with SHA-256 (OpenSSL, SHA extensions), and through
// the server a full snapshot of the benchmark image took 1.58-1.75 s instead of 1.87-1.94 s, its
// restore 1.62-1.67 s instead of 1.66-1.90 s. Both are 256-bit cryptographic hashes: two different
// blocks with one id are as unlikely with either.
import { createHash } from 'node:crypto';
import blakeHash from '@napi-rs/blake-hash';

export type ChunkIdAlgorithm = 'blake3' | 'sha256';

/** The algorithm's code in a pack's header (see PackWriter.flush): a pack names its ids' kind. */
export const PACK_CHUNK_ID_CODE: Record<ChunkIdAlgorithm, number> = { sha256: 0, blake3: 1 };

/** Writes the id of `data` into `into` at `at` (32 bytes). */
export type ChunkIdWriter = (data: Buffer, into: Buffer, at: number) => void;
export type ChunkIdFunction = (data: Buffer) => Buffer;

const sha256: ChunkIdWriter = (data, into, at) => {
  createHash('sha256').update(data).digest().copy(into, at);
};

// The binding's string form of the hash, decoded into place: its Buffer form is memory outside
// V8's heap freed only by a callback that runs when the thread's event loop turns, and a worker
// hashing hundreds of blocks per message grew by 300 bytes per block until then. (The string is
// also the faster call: 5.1 GB/s against 4.0 on 16 KiB blocks.)
const blake3: ChunkIdWriter = (data, into, at) => {
  into.write(blakeHash.blake3UrlSafeBase64(data), at, 32, 'base64url');
};

export function chunkIdWriter(algorithm: ChunkIdAlgorithm): ChunkIdWriter {
  return algorithm === 'blake3' ? blake3 : sha256;
}

export function chunkIdFunction(algorithm: ChunkIdAlgorithm): ChunkIdFunction {
  const write = chunkIdWriter(algorithm);
  return (data) => {
    const id = Buffer.allocUnsafeSlow(32);
    write(data, id, 0);
    return id;
  };
}

export function isChunkIdAlgorithm(value: unknown): value is ChunkIdAlgorithm {
  return value === 'blake3' || value === 'sha256';
}
