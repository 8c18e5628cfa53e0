// Where a snapshot copy puts what it stores: chunks go into a pack while the previous pack is
// being written and indexed, so hashing never waits for the disk. At most PACKS_IN_FLIGHT packs are
// in flight; a checkpoint (the pages finished with a pack) is committed only once that pack is
// durable.
import {
  ChunkKind,
  Codec,
  encodeBlock,
  looksCompressible,
  NO_PART,
  SECTOR,
  type ChunkStore,
  type Encoded,
  type PackWriter,
} from './chunk-store.js';
import type { FinishedPage, Flushed } from './copy-checkpoint.js';
import type { EngineDb } from './engine-db.js';

export class CopyPipeline {
  private pack: PackWriter;
  private readonly sealed = new Set<PackWriter>();
  /** Packs being written and checkpointed, oldest first. */
  private readonly inflight: Promise<void>[] = [];
  private pages: FinishedPage[] = [];
  /** What learn() asked the index and what it found, so that store() need not ask again. */
  private asked = new Set<string>();
  private known = new Set<string>();

  constructor(
    private readonly chunks: ChunkStore,
    private readonly db: EngineDb,
    /** Indexes a written pack and records the pages finished with it; durable when it resolves. */
    private readonly checkpoint: (flushed: Flushed, pages: FinishedPage[]) => Promise<void>,
  ) {
    this.pack = chunks.newPack();
  }

  get fillingBytes(): number {
    return this.pack.bytes;
  }

  /** Looks up many ids at once before they are stored (replaces what was learnt before). */
  learn(hashes: Buffer[]): void {
    this.asked = new Set(hashes.map((h) => h.toString('latin1')));
    this.known = this.db.knownChunks(hashes);
  }

  /** Whether the store has the chunk, or will once the packs in flight are indexed. */
  private has(hash: Buffer, key: string): boolean {
    if (this.pack.has(hash, key)) return true;
    for (const pack of this.sealed) if (pack.has(hash, key)) return true;
    return this.asked.has(key) ? this.known.has(key) : this.db.hasChunk(hash);
  }

  /**
   * Stores the chunk unless it is stored already; returns its id. `content` is its bytes, or for
   * a data block its stored form when a hash worker made it (then its id is given).
   */
  store(kind: ChunkKind, data: Buffer, hash?: Buffer, compressible?: boolean): Buffer;
  store(kind: ChunkKind.Data, encoded: Encoded, hash: Buffer): Buffer;
  store(kind: ChunkKind, content: Buffer | Encoded, hash?: Buffer, compressible?: boolean): Buffer {
    const id = hash ?? this.chunks.id(content as Buffer);
    const key = id.toString('latin1');
    if (this.has(id, key)) return id;
    const form =
      kind === ChunkKind.Data && Buffer.isBuffer(content)
        ? encodeBlock(content, compressible ?? looksCompressible(content), this.chunks.writeId)
        : content;
    if (!Buffer.isBuffer(form) && form.codec === Codec.Parts) this.storeSectors(form);
    this.pack.add(id, kind, form, compressible, key);
    return id;
  }

  /**
   * The sectors of a block stored as its parts, each stored as a chunk of its own unless it is
   * already, in the pack before the block that names them. Text-like data repeats at 4 KiB
   * alignments (a file system's blocks) more than at a block's: the benchmark image's text, one
   * corpus at four alignments, is stored a quarter as often.
   */
  private storeSectors({ stored: ids, sectors }: Encoded): void {
    if (!sectors) throw new Error('a block stored as its parts comes with its bytes');
    for (let i = 0; i * SECTOR < sectors.length; i++) {
      const id = ids.subarray(i * 32, (i + 1) * 32);
      if (id.equals(NO_PART)) continue; // an all-zero sector, not stored
      const key = id.toString('latin1');
      if (!this.has(id, key))
        this.pack.add(id, ChunkKind.Sector, sectors.subarray(i * SECTOR, (i + 1) * SECTOR), undefined, key);
    }
  }

  finishPage(page: FinishedPage): void {
    this.pages.push(page);
  }

  /**
   * Starts writing the current pack and opens a new one. Up to PACKS_IN_FLIGHT packs are written
   * at once (writing into the page cache costs CPU in the kernel, on the thread pool); their
   * checkpoints are committed in order, each after its pack is durable and the one before it is
   * committed.
   */
  async seal(): Promise<void> {
    while (this.inflight.length >= PACKS_IN_FLIGHT) await this.inflight[0];
    const pack = this.pack;
    const pages = this.pages;
    this.pack = this.chunks.newPack();
    this.pages = [];
    this.sealed.add(pack);
    const flushing = pack.flush();
    const previous = this.inflight[this.inflight.length - 1];
    const committed = (async () => {
      const flushed = await flushing;
      await previous;
      await this.checkpoint(flushed, pages);
    })();
    const settle = () => {
      this.sealed.delete(pack);
      this.inflight.splice(this.inflight.indexOf(committed), 1);
    };
    // Settled once, whichever way; a failure is seen by the next seal() or drain().
    committed.then(settle, settle);
    this.inflight.push(committed);
  }

  /**
   * After a failure: drops the pack being filled, and waits until no pack is being written or
   * checkpointed (whichever way it ends).
   */
  async abandon(): Promise<void> {
    await Promise.allSettled([this.pack.abort(), ...this.inflight]);
  }

  /** Writes and checkpoints everything stored so far. */
  async drain(): Promise<void> {
    await this.seal();
    while (this.inflight.length > 0) await this.inflight[this.inflight.length - 1];
  }
}

const PACKS_IN_FLIGHT = 2;
