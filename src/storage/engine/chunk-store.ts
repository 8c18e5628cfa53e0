// Content-addressed chunks, grouped into packs. A chunk's id is the hash of its uncompressed bytes
// (BLAKE3, or SHA-256 in older stores: see chunk-id.ts); identical blocks are stored once across
// every disk and snapshot. Chunks are appended to an in-memory pack and written as one object
// (atomically, durably) when the pack is flushed; only then are they entered in the index. A pack
// is self-describing (its header names the id algorithm; every record carries its id, kind, codec
// and lengths), so the index can be rebuilt from the packs alone (docs/storage.md).
import { randomBytes } from 'node:crypto';
import { deflateRawSync, inflateRawSync } from 'node:zlib';
import { EngineDataUnreadable } from '../../domain/ports.js';
import type { ChunkRow, EngineDb } from './engine-db.js';
import {
  chunkIdFunction,
  chunkIdWriter,
  PACK_CHUNK_ID_CODE,
  type ChunkIdAlgorithm,
  type ChunkIdFunction,
  type ChunkIdWriter,
} from './chunk-id.js';
import { BufferPool } from './buffer-pool.js';
import { alignedBuffer } from './direct-writer.js';
import type { HashPool } from './hash-pool.js';
import { ObjectMissing, type ObjectStore, type ObjectWriter } from './object-store.js';

export const enum ChunkKind {
  Data = 0,
  Page = 1,
  Root = 2,
  /** A 4 KiB sector of compressible data blocks, held by the blocks stored as its parts. */
  Sector = 3,
}

export const enum Codec {
  None = 0,
  DeflateRaw = 1,
  /** The block's non-zero 4 KiB sectors, after a bitmap of which sectors they are. */
  ZeroSectors = 2,
  /** The ids of the block's 4 KiB sectors, each a Sector chunk (zeros for an all-zero sector). */
  Parts = 3,
}

/** Not a codec: in a hash worker's answer, a block it did not compress. */
export const NOT_ENCODED = 255;

export const SECTOR = 4096;
const ZERO_SECTOR = Buffer.alloc(SECTOR);
const ID_BYTES = 32;

/**
 * A block with all-zero 4 KiB sectors whose other sectors look incompressible (a few random
 * sectors written into an empty block: what scattered small writes make) is stored as its
 * non-zero sectors, behind a bitmap of them (bit `i & 7` of byte `i >> 3` for sector i). No
 * DEFLATE pass (which costs more than the rest of storing such a block) and no bigger.
 */
function withoutZeroSectors(raw: Buffer): Buffer | undefined {
  if (raw.length % SECTOR !== 0) return undefined;
  const sectors = raw.length / SECTOR;
  const bitmap = Buffer.alloc(Math.ceil(sectors / 8));
  const kept: Buffer[] = [bitmap];
  for (let i = 0; i < sectors; i++) {
    const sector = raw.subarray(i * SECTOR, (i + 1) * SECTOR);
    if (sector.equals(ZERO_SECTOR)) continue;
    bitmap[i >> 3] = (bitmap[i >> 3] as number) | (1 << (i & 7));
    kept.push(sector);
  }
  if (kept.length - 1 === sectors) return undefined;
  const stored = Buffer.concat(kept);
  return looksCompressible(stored.subarray(bitmap.length)) ? undefined : stored;
}

function withZeroSectors(stored: Buffer, rawLen: number): Buffer {
  const sectors = Math.ceil(rawLen / SECTOR);
  const bitmap = Math.ceil(sectors / 8);
  const raw = Buffer.alloc(rawLen);
  let at = bitmap;
  for (let i = 0; i < sectors; i++) {
    if (((stored[i >> 3] as number) & (1 << (i & 7))) === 0) continue;
    if (at + SECTOR > stored.length) throw new RangeError('short sector list');
    stored.copy(raw, i * SECTOR, at, at + SECTOR);
    at += SECTOR;
  }
  if (at !== stored.length) throw new RangeError('sector list does not match its bitmap');
  return raw;
}

export const PACK_MAGIC = Buffer.from('ENSNAPPK');
export const PACK_HEADER_BYTES = 16;
export const RECORD_MAGIC = 0x4b484345; // "ECHK" little-endian
export const RECORD_HEADER_BYTES = 48;
/** A pack is flushed once it holds this many bytes. */
export const PACK_TARGET_BYTES = 32 * 1024 * 1024;
/** A pack's length is a multiple of this: its last record is followed by zeros up to it. */
export const PACK_ALIGN = 4096;

export const packKey = (id: string): string => `packs/${id.slice(0, 2)}/${id}.pack`;

/** A stored chunk that reads back wrong (bad hash, bad header) or not at all. */
export class ChunkUnreadable extends EngineDataUnreadable {
  constructor(
    readonly hash: Buffer,
    readonly reason: string,
    /** The pack it was in is gone (rather than the chunk damaged). */
    readonly packMissing = false,
  ) {
    super(`chunk ${hash.toString('hex')} is unreadable: ${reason}`);
  }
}

/**
 * Compression where it pays: a cheap sample of the block's byte values (256 bytes, evenly spaced)
 * decides whether deflate is worth trying — random data is not — and the result is kept only if
 * it saves an eighth or more.
 */
export function looksCompressible(raw: Uint8Array): boolean {
  const step = Math.max(1, raw.length >>> 8);
  const seen = new Uint8Array(256);
  let distinct = 0;
  for (let i = 0; i < raw.length; i += step) {
    const byte = raw[i] as number;
    if (seen[byte] === 0) {
      seen[byte] = 1;
      distinct++;
    }
  }
  return distinct < 128;
}

/** A chunk's bytes as a pack stores them, and how long they are uncompressed. */
export interface Encoded {
  codec: Codec;
  stored: Buffer;
  rawLength: number;
  /** A block stored as its parts: its bytes, whose sectors are stored too unless they are already. */
  sectors?: Buffer;
}

/** The stored form of a chunk (compressed if `compressible` and it pays). */
export function encode(raw: Buffer, compressible: boolean): Encoded {
  const rawLength = raw.length;
  if (compressible) {
    const sparse = withoutZeroSectors(raw);
    if (sparse) return { codec: Codec.ZeroSectors, stored: sparse, rawLength };
    const compressed = deflateRawSync(raw, { level: 1 });
    if (compressed.length <= raw.length - (raw.length >>> 3))
      return { codec: Codec.DeflateRaw, stored: compressed, rawLength };
  }
  return { codec: Codec.None, stored: raw, rawLength };
}

/**
 * A data block's stored form: a compressible one as its parts (see Codec.Parts: its sectors' ids,
 * written by `sectorId`, with its bytes to store the sectors from) unless it is a few
 * incompressible sectors among zeros; any other as encode() stores it.
 */
export function encodeBlock(raw: Buffer, compressible: boolean, sectorId: ChunkIdWriter): Encoded {
  if (!compressible || raw.length <= SECTOR || raw.length % SECTOR !== 0) return encode(raw, compressible);
  const sparse = withoutZeroSectors(raw);
  if (sparse) return { codec: Codec.ZeroSectors, stored: sparse, rawLength: raw.length };
  // Zeroed: an all-zero sector's id stays zeros.
  const ids = Buffer.alloc((raw.length / SECTOR) * ID_BYTES);
  for (let i = 0; i * SECTOR < raw.length; i++) {
    const sector = raw.subarray(i * SECTOR, (i + 1) * SECTOR);
    if (!sector.equals(ZERO_SECTOR)) sectorId(sector, ids, i * ID_BYTES);
  }
  return { codec: Codec.Parts, stored: ids, rawLength: raw.length, sectors: raw };
}

export interface NewChunk extends Omit<ChunkRow, 'refs'> {
  /**
   * A root's bytes, or a block's sector ids (codec Parts): its index commit takes a hold on what
   * they name (see copy-checkpoint.ts).
   */
  data?: Buffer;
}

/** The ids a block stored as its parts (codec Parts) names: its non-zero sectors', in order. */
export function partIds(stored: Uint8Array): Buffer[] {
  const ids: Buffer[] = [];
  for (let at = 0; at + ID_BYTES <= stored.length; at += ID_BYTES) {
    const id = Buffer.from(stored.buffer, stored.byteOffset + at, ID_BYTES);
    if (!id.equals(NO_PART)) ids.push(id);
  }
  return ids;
}

/** Where a block stored as its parts has an all-zero sector (not stored). */
export const NO_PART = Buffer.alloc(ID_BYTES);

/**
 * A pack is written in pieces of this size as it fills, so that little of it is left to write when
 * it is complete, and a copy holds a few pieces rather than whole packs.
 */
const SEGMENT_BYTES = 4 * 1024 * 1024;

/**
 * Pieces handed to the object store and not yet written, at most this many before a copy waits
 * (packWritesCaughtUp): a copy fills them in bursts faster than the device takes them, and ten or
 * more were seen waiting, 40 MiB and more of memory.
 */
const SEGMENTS_IN_FLIGHT = 4;
let segmentsInFlight = 0;
const waitingForWrites: (() => void)[] = [];

/** The pieces, reused from one pack to the next; page-aligned, for direct I/O (see the object store). */
const packSegments = new BufferPool(SEGMENT_BYTES, SEGMENTS_IN_FLIGHT + 2, alignedBuffer);

/** Undefined, or a promise of the writes of packs' pieces being few enough again. */
export function packWritesCaughtUp(): Promise<void> | undefined {
  if (segmentsInFlight <= SEGMENTS_IN_FLIGHT) return undefined;
  return new Promise((resolve) => waitingForWrites.push(resolve));
}

function segmentWritten(segment: Buffer): void {
  packSegments.give(segment);
  segmentsInFlight--;
  if (segmentsInFlight <= SEGMENTS_IN_FLIGHT) for (const resolve of waitingForWrites.splice(0)) resolve();
}

/** Lets go of the kept pack pieces (once copies have paused: see IdleMemory); returns their bytes. */
export function releasePackBuffers(): number {
  return packSegments.drain();
}

/** A record's header, made here and copied into the pack (one at a time: add() is synchronous). */
const recordHeader = Buffer.alloc(RECORD_HEADER_BYTES);

/**
 * Chunks gathered for one pack, written into a new object as they come (ObjectStore.create).
 * Nothing is visible to anyone until flush() and the index commit. Records are copied into the
 * pack's pieces (so the caller's buffers are free at once).
 */
export class PackWriter {
  /** The piece being filled; full ones are handed to the object's writer. */
  private segment: Buffer | undefined;
  private used = 0;
  private writer: ObjectWriter | undefined;
  private size = PACK_HEADER_BYTES;
  private readonly chunks = new Map<string, NewChunk>();
  private readonly packId = randomBytes(16).toString('hex');

  constructor(
    private readonly objects: ObjectStore,
    /** The code of the store's chunk id algorithm, which the header carries. */
    private readonly idCode: number,
  ) {}

  get bytes(): number {
    return this.size;
  }

  has(hash: Buffer, key = hash.toString('latin1')): boolean {
    return this.chunks.has(key);
  }

  /**
   * Adds the chunk unless this pack already holds it; returns the bytes it adds to the store.
   * `content` is its bytes, or for a data block their stored form when a hash worker made it;
   * `compressible` is the caller's looksCompressible() verdict when it has one (the hash workers
   * compute it); `key` is the id as a latin1 string when the caller has it.
   */
  add(
    hash: Buffer,
    kind: ChunkKind,
    content: Buffer | Encoded,
    compressible?: boolean,
    key = hash.toString('latin1'),
  ): number {
    if (this.chunks.has(key)) return 0;
    const raw = Buffer.isBuffer(content) ? content : undefined;
    // Pages and roots are stored from their bytes, never given encoded; a root keeps them (its
    // pack's index commit reads the pages it names: see copy-checkpoint.ts).
    if (!raw && kind !== ChunkKind.Data) throw new Error('a manifest chunk is stored from its bytes');
    const { codec, stored, rawLength } = raw
      ? encode(
          raw,
          compressible ?? (kind !== ChunkKind.Page && kind !== ChunkKind.Root && looksCompressible(raw)),
        )
      : (content as Encoded);
    if (this.chunks.size === 0) {
      const header = Buffer.alloc(PACK_HEADER_BYTES);
      PACK_MAGIC.copy(header, 0);
      header.writeUInt32LE(1, 8);
      header.writeUInt32LE(this.idCode, 12);
      this.append(header);
    }
    recordHeader.fill(0);
    recordHeader.writeUInt32LE(RECORD_MAGIC, 0);
    recordHeader.writeUInt8(kind, 4);
    recordHeader.writeUInt8(codec, 5);
    recordHeader.writeUInt32LE(rawLength, 8);
    recordHeader.writeUInt32LE(stored.length, 12);
    hash.copy(recordHeader, 16);
    this.append(recordHeader);
    this.append(stored);
    this.chunks.set(key, {
      hash,
      kind,
      pack: this.packId,
      offset: this.size + RECORD_HEADER_BYTES,
      storedLen: stored.length,
      rawLen: rawLength,
      codec,
      ...(kind === ChunkKind.Root ? { data: raw } : codec === Codec.Parts ? { data: stored } : {}),
    });
    const record = RECORD_HEADER_BYTES + stored.length;
    this.size += record;
    return record;
  }

  /** Copies bytes into the pack's pieces, handing each one that fills to the writer. */
  private append(bytes: Buffer): void {
    for (let from = 0; from < bytes.length;) {
      const segment = (this.segment ??= packSegments.take());
      const n = bytes.copy(segment, this.used, from);
      this.used += n;
      from += n;
      if (this.used === segment.length) this.send();
    }
  }

  private send(): void {
    const segment = this.segment as Buffer;
    this.writer ??= this.objects.create(packKey(this.packId));
    const written = this.writer.append(segment.subarray(0, this.used));
    this.segment = undefined;
    this.used = 0;
    segmentsInFlight++;
    // The piece is reused once written (a failed write is the flush's to report).
    void written.then(() => segmentWritten(segment));
  }

  /**
   * Finishes writing the pack (durably) and returns what the caller must enter in the index, in
   * the same transaction as whatever refers to these chunks. A writer is used once.
   */
  async flush(): Promise<{ packId: string; bytes: number; chunks: NewChunk[] } | undefined> {
    if (this.chunks.size === 0) return undefined;
    // Zeros to the next PACK_ALIGN: the last piece is written whole, with direct I/O, and the file
    // is not cut back to the last record (an ftruncate that waited for the writes: 2 ms a pack).
    // (With no piece being filled, the pack is whole pieces long, aligned already.)
    if (this.segment) {
      const padding = (PACK_ALIGN - (this.size % PACK_ALIGN)) % PACK_ALIGN;
      this.segment.fill(0, this.used, this.used + padding);
      this.used += padding;
      this.size += padding;
      this.send();
    }
    await (this.writer as ObjectWriter).commit();
    return { packId: this.packId, bytes: this.size, chunks: [...this.chunks.values()] };
  }

  /** Drops a pack that will not be flushed (what was written of it goes). */
  async abort(): Promise<void> {
    if (this.segment) packSegments.give(this.segment);
    this.segment = undefined;
    await this.writer?.abort();
  }
}

/**
 * Recently read compressed chunks, decompressed and checked. Compressible blocks (text, logs,
 * half-empty blocks) are the ones that repeat, and inflating them again on every read would cost
 * more than reading them. DECODED_CACHE_BYTES holds the distinct text of the benchmark image
 * (about 1000 blocks, in four alignments, taken in turns): at 8 MiB, a restore of it inflated
 * half its text blocks again (0.25 s of the event loop, and their garbage).
 */
const DECODED_CACHE_BYTES = 24 * 1024 * 1024;

class DecodedCache {
  private readonly entries = new Map<string, Buffer>();
  private bytes = 0;

  constructor(private readonly limit: number) {}

  get(key: string): Buffer | undefined {
    const hit = this.entries.get(key);
    if (hit) {
      this.entries.delete(key);
      this.entries.set(key, hit);
    }
    return hit;
  }

  set(key: string, value: Buffer): void {
    if (this.entries.has(key) || value.length > this.limit) return;
    this.entries.set(key, value);
    this.bytes += value.length;
    while (this.bytes > this.limit) {
      const [oldest, evicted] = this.entries.entries().next().value as [string, Buffer];
      this.entries.delete(oldest);
      this.bytes -= evicted.length;
    }
  }

  /** Forgets every entry; returns the bytes they held. */
  clear(): number {
    const bytes = this.bytes;
    this.entries.clear();
    this.bytes = 0;
    return bytes;
  }
}

export class ChunkStore {
  private readonly decoded = new DecodedCache(DECODED_CACHE_BYTES);
  /** A chunk's id from its uncompressed bytes, by the store's algorithm (see chunk-id.ts). */
  readonly id: ChunkIdFunction;
  /** The same, written into a buffer. */
  readonly writeId: ChunkIdWriter;

  constructor(
    readonly objects: ObjectStore,
    private readonly db: EngineDb,
    readonly idAlgorithm: ChunkIdAlgorithm,
    /** Where bulk reads check hashes; without it, on this thread. */
    private readonly hashes?: HashPool,
  ) {
    this.id = chunkIdFunction(idAlgorithm);
    this.writeId = chunkIdWriter(idAlgorithm);
  }

  /** Lets go of the decoded chunks kept (once reads have paused: see IdleMemory); returns their bytes. */
  releaseDecoded(): number {
    return this.decoded.clear();
  }

  newPack(): PackWriter {
    return new PackWriter(this.objects, PACK_CHUNK_ID_CODE[this.idAlgorithm]);
  }

  /** Reads a chunk, checks it against its id, and returns its raw bytes. */
  async get(hash: Buffer, fresh = false): Promise<Buffer> {
    let row = this.db.chunk(hash);
    if (!row) throw new ChunkUnreadable(hash, 'not in the index');
    for (;;) {
      try {
        return await this.read(row, fresh);
      } catch (error) {
        const moved = this.movedMeanwhile(row, error);
        if (!moved) throw error;
        row = moved;
      }
    }
  }

  /**
   * Reads look a chunk up, then read its pack, without holding off the garbage collector, which
   * may rewrite the pack in between (moving the chunk to a new pack, deleting the old one). When
   * a read finds the pack gone: the chunk's row as it is now if it moved, else undefined (then the
   * pack really is missing).
   */
  private movedMeanwhile(row: ChunkRow, error: unknown): ChunkRow | undefined {
    if (!(error instanceof ChunkUnreadable && error.packMissing)) return undefined;
    const now = this.db.chunk(row.hash);
    return now && (now.pack !== row.pack || now.offset !== row.offset) ? now : undefined;
  }

  /** Reads a chunk; `fresh` skips the cache (verify re-reads what is stored). */
  async read(row: ChunkRow, fresh = false): Promise<Buffer> {
    const key = row.hash.toString('latin1');
    const cached = fresh ? undefined : this.decoded.get(key);
    if (cached) return cached;
    const stored = await this.readStored(row);
    if (row.codec !== Codec.Parts) return this.decode(row, stored, key);
    const parts = new Map<string, Buffer>();
    for (const id of partIds(stored)) {
      const partKey = id.toString('latin1');
      if (parts.has(partKey)) continue;
      try {
        parts.set(partKey, await this.get(id, fresh));
      } catch (error) {
        throw partUnreadable(row, id, error);
      }
    }
    return this.assemble(row, stored, parts, key, fresh);
  }

  /** A chunk's bytes as its pack stores them, unchecked (see read). */
  async readStored(row: ChunkRow): Promise<Buffer> {
    try {
      return await this.objects.read(packKey(row.pack), row.offset, row.storedLen);
    } catch (error) {
      throw unreadable(row, error);
    }
  }

  private decode(row: ChunkRow, stored: Buffer, key: string): Buffer {
    const raw = decode(row, stored, this.id);
    if (row.codec === Codec.DeflateRaw) this.decoded.set(key, raw);
    return raw;
  }

  /** A block stored as its parts, put together from its sectors (read already) and checked. */
  private assemble(
    row: ChunkRow,
    stored: Buffer,
    parts: Map<string, Buffer>,
    key: string,
    fresh = false,
  ): Buffer {
    const raw = Buffer.alloc(row.rawLen);
    for (let i = 0; i * ID_BYTES < stored.length; i++) {
      const id = stored.subarray(i * ID_BYTES, (i + 1) * ID_BYTES);
      if (id.equals(NO_PART)) continue;
      const part = parts.get(id.toString('latin1'));
      if (!part || part.length !== SECTOR || (i + 1) * SECTOR > raw.length)
        throw new ChunkUnreadable(row.hash, 'its parts do not match its length');
      part.copy(raw, i * SECTOR);
    }
    if (stored.length !== (raw.length / SECTOR) * ID_BYTES || !this.id(raw).equals(row.hash))
      throw new ChunkUnreadable(row.hash, 'content does not match its hash');
    if (!fresh) this.decoded.set(key, raw);
    return raw;
  }

  /**
   * Reads many chunks, each checked against its id. Chunks that lie next to each other in a pack
   * (as the blocks of one copy do) are read with one request per run of up to READ_SPAN_BYTES.
   * With a lease, runs are read into the lease's pooled buffers (listed in `taken`, to be given
   * back once the chunks are no longer used): a restore moves gigabytes this way.
   */
  async getMany(hashes: Buffer[], lease?: ReadLease): Promise<Map<string, Buffer>> {
    const found = new Map<string, Buffer>();
    const wanted: Buffer[] = [];
    const seen = new Set<string>();
    for (const hash of hashes) {
      const key = hash.toString('latin1');
      if (seen.has(key)) continue;
      seen.add(key);
      const cached = this.decoded.get(key);
      if (cached) found.set(key, cached);
      else wanted.push(hash);
    }
    const rows = this.db.chunks(wanted);
    if (rows.length < wanted.length) {
      const indexed = new Set(rows.map((row) => row.hash.toString('latin1')));
      const missing = wanted.find((hash) => !indexed.has(hash.toString('latin1'))) as Buffer;
      throw new ChunkUnreadable(missing, 'not in the index');
    }
    rows.sort((a, b) => (a.pack === b.pack ? a.offset - b.offset : a.pack < b.pack ? -1 : 1));
    const spans: ChunkRow[][] = [];
    for (const row of rows) {
      const span = spans[spans.length - 1];
      const last = span?.[span.length - 1];
      if (
        span &&
        last &&
        last.pack === row.pack &&
        last.offset + last.storedLen + RECORD_HEADER_BYTES === row.offset &&
        row.offset + row.storedLen - (span[0] as ChunkRow).offset <= READ_SPAN_BYTES
      )
        span.push(row);
      else spans.push([row]);
    }
    const out = found;
    const assembling: { row: ChunkRow; stored: Buffer }[] = [];
    await Promise.all(
      spans.map(async (span) => {
        const first = span[0] as ChunkRow;
        const last = span[span.length - 1] as ChunkRow;
        let bytes: Buffer;
        try {
          const length = last.offset + last.storedLen - first.offset;
          // A few chunks (the tail of a group, a restore of a few blocks) are read into a buffer of
          // their own size: a pooled one each would hold 4 MiB for them.
          const into =
            lease && length <= lease.pool.size && length > lease.pool.size / 4
              ? lease.pool.take()
              : undefined;
          bytes = await this.objects.read(packKey(first.pack), first.offset, length, into);
        } catch (error) {
          const failure = unreadable(first, error);
          if (!failure.packMissing) throw failure;
          // Perhaps moved by the garbage collector since they were looked up: one at a time,
          // looked up again (get() tells a moved chunk from a missing pack).
          for (const row of span) out.set(row.hash.toString('latin1'), await this.get(row.hash));
          return;
        }
        // Stored-as-is chunks are checked on the hash workers, the rest here (inflated first).
        const plain = this.hashes ? span.filter((row) => row.codec === Codec.None) : [];
        if (plain.length > 0) {
          const hashed = await (this.hashes as HashPool).hashRanges(
            bytes,
            plain.map((row) => [row.offset - first.offset, row.storedLen]),
          );
          bytes = hashed.data;
          plain.forEach((row, i) => {
            if (row.storedLen !== row.rawLen || !(hashed.hashes[i] as Buffer).equals(row.hash))
              throw new ChunkUnreadable(row.hash, 'content does not match its hash');
            const at = row.offset - first.offset;
            out.set(row.hash.toString('latin1'), bytes.subarray(at, at + row.storedLen));
          });
        }
        for (const row of span) {
          if (plain.length > 0 && row.codec === Codec.None) continue;
          const at = row.offset - first.offset;
          const key = row.hash.toString('latin1');
          // Copied: the span's buffer may be the lease's, given back before the parts are read.
          if (row.codec === Codec.Parts)
            assembling.push({ row, stored: Buffer.from(bytes.subarray(at, at + row.storedLen)) });
          else out.set(key, this.decode(row, bytes.subarray(at, at + row.storedLen), key));
        }
        if (lease && bytes.buffer.byteLength === lease.pool.size) lease.taken.push(bytes);
      }),
    );
    if (assembling.length > 0) {
      // Their sectors, all at once: blocks stored as parts are text-like and share sectors.
      let parts: Map<string, Buffer>;
      try {
        parts = await this.getMany(assembling.flatMap(({ stored }) => partIds(stored)));
      } catch (error) {
        const bad = error instanceof ChunkUnreadable ? error.hash : undefined;
        const holder = assembling.find(({ stored }) => bad && partIds(stored).some((id) => id.equals(bad)));
        throw partUnreadable((holder ?? (assembling[0] as (typeof assembling)[0])).row, bad, error);
      }
      for (const { row, stored } of assembling) {
        const key = row.hash.toString('latin1');
        out.set(key, this.assemble(row, stored, parts, key));
      }
    }
    return out;
  }
}

/**
 * How much one read of neighbouring chunks may span: 4 MiB of blocks and their record headers, so
 * that a group of a restore (4 MiB of blocks, copied in together) is one read, not two.
 */
export const READ_SPAN_BYTES = 4 * 1024 * 1024 + 64 * 1024;

/** Pooled buffers that getMany reads into, and those it took (to be given back after use). */
export interface ReadLease {
  pool: BufferPool;
  taken: Buffer[];
}

function unreadable(row: ChunkRow, error: unknown): ChunkUnreadable {
  if (error instanceof ObjectMissing)
    return new ChunkUnreadable(row.hash, `pack ${row.pack} is missing`, true);
  return new ChunkUnreadable(row.hash, (error as Error).message);
}

/** A block stored as its parts cannot be read because a sector of it cannot. */
function partUnreadable(row: ChunkRow, part: Buffer | undefined, error: unknown): ChunkUnreadable {
  const reason = error instanceof ChunkUnreadable ? error.reason : (error as Error).message;
  return new ChunkUnreadable(row.hash, `its sector ${part?.toString('hex') ?? ''} is unreadable: ${reason}`);
}

/** Decompresses a stored chunk (not one stored as its parts) and checks it against its id. */
function decode(row: ChunkRow, stored: Buffer, id: ChunkIdFunction): Buffer {
  let raw: Buffer;
  try {
    raw =
      row.codec === Codec.DeflateRaw
        ? // Into a buffer of the chunk's size: by default a 4 KiB sector came back in (and kept
          // alive, in the cache too) a buffer of 16 KiB.
          inflateRawSync(stored, { chunkSize: Math.max(64, row.rawLen) })
        : row.codec === Codec.ZeroSectors
          ? withZeroSectors(stored, row.rawLen)
          : stored;
  } catch {
    throw new ChunkUnreadable(row.hash, 'does not decompress');
  }
  if (raw.length !== row.rawLen || !id(raw).equals(row.hash))
    throw new ChunkUnreadable(row.hash, 'content does not match its hash');
  return raw;
}
