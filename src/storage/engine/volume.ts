// A live disk: a sparse raw file written only through the engine, with two bitmaps beside it that
// survive restarts: `allocated` (blocks that may hold data; exports and full snapshots read only
// these) and `dirty-<gen>` (blocks changed since the disk's last snapshot was frozen). A bit is
// made durable before the data it describes is written, so after a crash no changed block can be
// missing from either map.
//
// While a snapshot of the volume is being copied, a write to a block the snapshot still needs
// first preserves the block's old content (copy-before-write, into the snapshot's cow file), so
// nothing written after CreateSnapshot returned can leak into the snapshot.
import { Mutex } from 'async-mutex';
import { mkdir, open, readdir, rm, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { EngineConflict, type EngineDataUnreadable, type Extent } from '../../domain/ports.js';
import { Bitmap, BitmapFile } from './bitmap.js';
import { DirectWriter } from './direct-writer.js';
import { PAGE_BLOCKS } from './manifest.js';
import { syncDirectory } from './object-store.js';

/** A snapshot being copied, as the write path sees it. */
export interface CopyGuard {
  snapshotId: string;
  /** The blocks the snapshot takes from this volume (frozen at CreateSnapshot). */
  pending: Bitmap;
  /** Pages whose blocks the copy has durably stored: their blocks need no preserving any more. */
  donePages: Set<number>;
  /** block → offset of its old content in the cow file */
  preserved: Map<number, number>;
  cow?: FileHandle;
  cowSize: number;
}

export interface VolumeHooks {
  /** Durably records blocks preserved for a snapshot (before they are overwritten). */
  recordPreserved(snapshotId: string, entries: [block: number, cowOffset: number][]): Promise<void>;
  /** Flushes the engine's committed metadata. */
  syncMetadata(): Promise<void>;
}

/**
 * A volume being filled from a snapshot in the background. Until a block of the snapshot is in the
 * raw file (`hydrated`), reads take it from the snapshot, and a write that covers only part of it
 * first brings the rest in.
 */
export interface Hydration {
  /** The snapshot's non-zero blocks. */
  needed: Bitmap;
  hydrated: BitmapFile;
  /** The snapshot's content of a needed block. */
  fetch(block: number): Promise<Buffer>;
}

/** The volume's raw file: its blocks at their offsets, holes where nothing was written. */
const DATA_FILE = 'data.raw';
/** Exists once a restore has emptied the volume and begun filling it (see beginRestore). */
export const hydratedFile = (gen: number): string => `hydrated-${gen}.bitmap`;
export const dirtyFile = (gen: number): string => `dirty-${gen}.bitmap`;
export const cowFile = (snapshotId: string): string => `cow-${snapshotId}.data`;

export class Volume {
  /** Serializes writes, freezes and the copy's reads of live blocks. */
  readonly lock = new Mutex();
  readonly guards = new Map<string, CopyGuard>();
  /** A snapshot was frozen with a commit not yet flushed: flush it before the next write. */
  unsyncedFreeze = false;
  hydration: Hydration | undefined;
  /** Closed (the disk is being deleted, or the engine stops): every later call is refused. */
  private closed = false;
  /** Its restore cannot go on (the snapshot is damaged): reads and writes are refused with this. */
  broken: EngineDataUnreadable | undefined;
  /** Blocks the background fill has written but not yet marked (see flushHydrated). */
  private filled: number[] = [];
  /** The background fill's direct writer: not opened yet, or null where direct I/O is refused. */
  private direct: DirectWriter | null | undefined;

  private constructor(
    readonly diskId: string,
    readonly dir: string,
    readonly blockSize: number,
    public sizeBytes: number,
    private data: FileHandle,
    public dirty: BitmapFile,
    public dirtyGen: number,
    public allocated: BitmapFile,
    private readonly hooks: VolumeHooks,
  ) {}

  private get dataFile(): string {
    return path.join(this.dir, DATA_FILE);
  }

  get blocks(): number {
    return Math.ceil(this.sizeBytes / this.blockSize);
  }

  static async create(dir: string, blockSize: number, sizeBytes: number): Promise<void> {
    await rm(dir, { recursive: true, force: true });
    await mkdir(dir, { recursive: true });
    const bitmapBytes = Bitmap.byteLength(Math.ceil(sizeBytes / blockSize));
    await Promise.all([
      createSparse(path.join(dir, DATA_FILE), sizeBytes),
      createSparse(path.join(dir, dirtyFile(0)), bitmapBytes),
      createSparse(path.join(dir, 'allocated.bitmap'), bitmapBytes),
    ]);
    await Promise.all([syncDirectory(dir), syncDirectory(path.dirname(dir))]);
  }

  static async open(
    diskId: string,
    dir: string,
    row: { blockSize: number; sizeBytes: number; dirtyGen: number },
    hooks: VolumeHooks,
  ): Promise<Volume> {
    const bits = Math.ceil(row.sizeBytes / row.blockSize);
    const data = await open(path.join(dir, DATA_FILE), 'r+');
    const dirty = await BitmapFile.open(path.join(dir, dirtyFile(row.dirtyGen)), bits);
    const allocated = await BitmapFile.open(path.join(dir, 'allocated.bitmap'), bits);
    return new Volume(diskId, dir, row.blockSize, row.sizeBytes, data, dirty, row.dirtyGen, allocated, hooks);
  }

  /**
   * Closes the files once the write in progress (if any) is done. Writes still waiting for the
   * lock, and reads, are then refused with EngineConflict (the disk is being deleted) instead of
   * failing on a closed file (EBADF, which the client would see as InternalError).
   */
  async close(): Promise<void> {
    await this.lock.runExclusive(async () => {
      if (this.closed) return;
      this.closed = true;
      await Promise.all([
        this.data.close(),
        this.closeDirect(),
        this.dirty.close(),
        this.allocated.close(),
        ...[...this.guards.values()].map((g) => g.cow?.close()),
        this.hydration?.hydrated.close(),
      ]);
    });
  }

  private refuse(): void {
    if (this.closed) throw new EngineConflict(`volume ${this.diskId} is closed (deleted)`);
    if (this.broken) throw this.broken;
  }

  /** An I/O error on a file closed meanwhile is the disk's deletion, not a failure. */
  private closedMeanwhile(error: unknown): never {
    this.refuse();
    throw error;
  }

  /** Writes and makes durable. The caller has checked the range. */
  async write(offset: number, data: Uint8Array): Promise<void> {
    if (data.length === 0) return;
    const first = Math.floor(offset / this.blockSize);
    const last = Math.floor((offset + data.length - 1) / this.blockSize);
    await this.lock.runExclusive(async () => {
      this.refuse();
      // A fill's direct write still in flight must not land after this write, over it. (Its
      // failure is the fill's to report, at its next flush.)
      await this.direct?.settle();
      if (this.unsyncedFreeze) {
        await this.hooks.syncMetadata();
        this.unsyncedFreeze = false;
      }
      await this.preserveForSnapshots(first, last);
      const filled = await this.hydrateForWrite(offset, data.length, first, last);
      const dirtyChange = this.dirty.map.setRange(first, last);
      const allocatedChange = this.allocated.map.setRange(first, last);
      await Promise.all([
        dirtyChange && this.dirty.persist(dirtyChange),
        allocatedChange && this.allocated.persist(allocatedChange),
      ]);
      await writeAll(this.data, data, offset);
      if (filled.length > 0) {
        // The blocks' content is now in the raw file: durable first, then marked.
        await this.data.datasync();
        await this.markHydrated(filled);
      }
    });
    await this.data.datasync().catch((error: unknown) => this.closedMeanwhile(error));
  }

  /**
   * While the volume is filled from a snapshot: the snapshot's blocks this write touches but does
   * not wholly cover are brought in first. Returns every touched block that becomes hydrated.
   */
  private async hydrateForWrite(
    offset: number,
    length: number,
    first: number,
    last: number,
  ): Promise<number[]> {
    const h = this.hydration;
    if (!h) return [];
    const out: number[] = [];
    for (let block = first; block <= last; block++) {
      if (!h.needed.has(block) || h.hydrated.map.has(block)) continue;
      const start = block * this.blockSize;
      const covered = offset <= start && offset + length >= Math.min(start + this.blockSize, this.sizeBytes);
      if (!covered) await writeAll(this.data, await h.fetch(block), start);
      out.push(block);
    }
    return out;
  }

  private async markHydrated(blocks: number[]): Promise<void> {
    const h = this.hydration as Hydration;
    let from = Infinity;
    let to = -Infinity;
    for (const block of blocks) {
      const change = h.hydrated.map.setRange(block, block);
      if (change) {
        from = Math.min(from, change.from);
        to = Math.max(to, change.to);
      }
    }
    if (to > from) await h.hydrated.persist({ from, to });
  }

  /**
   * Background fill: the given blocks' snapshot content, written unless a write got there first.
   * They are marked hydrated by flushHydrated(), after the data is flushed, a batch at a time.
   */
  async hydrate(blocks: number[], contents: Buffer[]): Promise<void> {
    await this.lock.runExclusive(async () => {
      const h = this.hydration;
      if (!h || this.closed) return;
      // Consecutive blocks go to the file in one vectored write, past the page cache where the
      // file system allows it (see DirectWriter).
      if (this.direct === undefined) this.direct = (await DirectWriter.open(this.dataFile)) ?? null;
      let run: Buffer[] = [];
      let runStart = -1;
      const flush = async () => {
        if (run.length > 0) await this.writeFill(run, runStart * this.blockSize);
        run = [];
      };
      for (let i = 0; i < blocks.length; i++) {
        const block = blocks[i] as number;
        if (h.hydrated.map.has(block)) continue;
        let content = contents[i] as Buffer;
        const end = this.sizeBytes - block * this.blockSize;
        if (end < content.length) content = content.subarray(0, end);
        if (run.length === 0 || runStart + run.length !== block || content.length !== this.blockSize) {
          await flush();
          runStart = block;
        }
        run.push(content);
        this.filled.push(block);
      }
      await flush();
    });
  }

  /**
   * Writes blocks of the background fill: direct when aligned and allowed (queued: in the file
   * once the direct writer is drained), else buffered.
   */
  private async writeFill(parts: Buffer[], offset: number): Promise<void> {
    const length = parts.reduce((n, p) => n + p.length, 0);
    if (this.direct && DirectWriter.fits(offset, length)) return this.direct.write(parts, offset);
    await writevAll(this.data, parts, offset);
  }

  private async closeDirect(): Promise<void> {
    const direct = this.direct;
    this.direct = null;
    await direct?.close();
  }

  /**
   * Makes the background fill so far durable, then marks its blocks hydrated. The flush runs
   * outside the lock, so the fill and the disk's own reads and writes go on meanwhile; the blocks
   * are taken under the lock, so every one of them is in the file before the flush begins.
   */
  async flushHydrated(): Promise<void> {
    const blocks = await this.lock.runExclusive(async () => {
      if (!this.hydration || this.closed) return [];
      // The fill's direct writes still in flight are done before their blocks are taken.
      await this.direct?.drain();
      const taken = this.filled;
      this.filled = [];
      return taken;
    });
    if (blocks.length === 0) return;
    await this.data.datasync();
    await this.lock.runExclusive(async () => {
      if (this.hydration && !this.closed) await this.markHydrated(blocks);
    });
  }

  /**
   * Reads; the part past the end of a short file is zeros (the file is sparse). While the volume
   * is filled from a snapshot, blocks not yet in the file come from the snapshot.
   */
  async read(offset: number, length: number): Promise<Buffer> {
    const out = Buffer.allocUnsafe(length);
    await this.readInto(out, 0, offset, length);
    return out;
  }

  /** Reads `length` bytes at `offset` into `target` at `at` (as read() does). */
  async readInto(target: Buffer, at: number, offset: number, length: number): Promise<void> {
    this.refuse();
    // Which blocks come from the snapshot is decided before the file is read: a block the
    // background fill writes meanwhile would otherwise be read as a hole and then skipped.
    const h = this.hydration;
    const fromSnapshot: number[] = [];
    if (h && length > 0) {
      const last = Math.floor((offset + length - 1) / this.blockSize);
      for (let block = Math.floor(offset / this.blockSize); block <= last; block++)
        if (h.needed.has(block) && !h.hydrated.map.has(block)) fromSnapshot.push(block);
    }
    let done = 0;
    while (done < length) {
      const { bytesRead } = await this.data
        .read(target, at + done, length - done, offset + done)
        .catch((error: unknown) => this.closedMeanwhile(error));
      if (bytesRead === 0) break;
      done += bytesRead;
    }
    target.fill(0, at + done, at + length);
    for (const block of fromSnapshot) {
      const content = await this.snapshotBlock(h as Hydration, block);
      const start = block * this.blockSize;
      const from = Math.max(offset, start);
      const to = Math.min(offset + length, start + content.length);
      if (to > from) content.copy(target, at + from - offset, from - start, to - start);
    }
  }

  /**
   * A block of the snapshot being restored, for a read that found it not yet in the raw file. The
   * fill may have brought it in since, the restore ended and the snapshot's chunks been collected
   * (the snapshot deleted meanwhile): a fetch that fails for a block the fill has brought in reads
   * it from the raw file instead. Only a block still to come from the snapshot fails the read.
   */
  private async snapshotBlock(h: Hydration, block: number): Promise<Buffer> {
    try {
      return await h.fetch(block);
    } catch (error) {
      if (this.hydration === h && !h.hydrated.map.has(block)) throw error;
      const out = Buffer.alloc(this.blockSize);
      const start = block * this.blockSize;
      const length = Math.min(this.blockSize, this.sizeBytes - start);
      await this.data.read(out, 0, length, start).catch((e: unknown) => this.closedMeanwhile(e));
      return out;
    }
  }

  /** Byte ranges that may hold data (blocks ever written), merged; the rest reads as zeros. */
  extents(): Extent[] {
    this.refuse();
    return this.allocated.map.runs().map(([block, blocks]) => {
      const offset = block * this.blockSize;
      return { offset, length: Math.min(blocks * this.blockSize, this.sizeBytes - offset) };
    });
  }

  /**
   * Before blocks first..last are overwritten: for every snapshot still copying that needs one of
   * them and has not stored it yet, append the old content to its cow file, flush, record it.
   */
  private async preserveForSnapshots(first: number, last: number): Promise<void> {
    for (const guard of this.guards.values()) {
      const entries: [number, number][] = [];
      for (let block = first; block <= last; block++) {
        if (!guard.pending.has(block)) continue;
        if (guard.donePages.has(Math.floor(block / PAGE_BLOCKS))) continue;
        if (guard.preserved.has(block)) continue;
        const old = await this.read(block * this.blockSize, this.blockSize);
        guard.cow ??= await open(path.join(this.dir, cowFile(guard.snapshotId)), 'a+');
        await writeAll(guard.cow, old, guard.cowSize);
        entries.push([block, guard.cowSize]);
        guard.cowSize += old.length;
      }
      if (entries.length === 0) continue;
      await guard.cow?.datasync();
      await this.hooks.recordPreserved(guard.snapshotId, entries);
      for (const [block, at] of entries) guard.preserved.set(block, at);
    }
  }

  /**
   * The raw file's path while reading it is all a read of the volume does (no restore is filling
   * it, and it is neither closed nor broken): another thread may then read it by path.
   */
  plainFile(): string | undefined {
    return this.hydration || this.closed || this.broken ? undefined : this.dataFile;
  }

  /** The content of a block as the snapshot sees it: preserved if it was overwritten, else live. */
  async readForSnapshot(guard: CopyGuard, block: number): Promise<Buffer> {
    const at = guard.preserved.get(block);
    if (at !== undefined && guard.cow) {
      const out = Buffer.alloc(this.blockSize);
      await guard.cow.read(out, 0, this.blockSize, at);
      return out;
    }
    return this.read(block * this.blockSize, this.blockSize);
  }

  /** Starts a new, empty dirty map (the old one now belongs to a frozen snapshot). */
  async newDirtyGeneration(): Promise<{ gen: number; file: BitmapFile }> {
    const gen = this.dirtyGen + 1;
    const file = await BitmapFile.create(path.join(this.dir, dirtyFile(gen)), this.blocks);
    await syncDirectory(this.dir);
    return { gen, file };
  }

  /** Switches to the new dirty map once the database says so; the old file is removed. */
  async adoptDirty(next: { gen: number; file: BitmapFile }): Promise<void> {
    const old = this.dirty;
    const oldGen = this.dirtyGen;
    this.dirty = next.file;
    this.dirtyGen = next.gen;
    await old.close();
    await rm(path.join(this.dir, dirtyFile(oldGen)), { force: true });
  }

  /** Grows the volume: the file, and both maps (new blocks are holes, neither dirty nor allocated). */
  async grow(sizeBytes: number): Promise<void> {
    await this.lock.runExclusive(async () => {
      await this.data.truncate(sizeBytes);
      await this.data.sync();
      const bits = Math.ceil(sizeBytes / this.blockSize);
      for (const name of ['dirty', 'allocated'] as const) {
        const current = this[name];
        const file = name === 'dirty' ? dirtyFile(this.dirtyGen) : 'allocated.bitmap';
        await current.close();
        const full = path.join(this.dir, file);
        const handle = await open(full, 'r+');
        await handle.truncate(Bitmap.byteLength(bits));
        await handle.sync();
        await handle.close();
        this[name] = await BitmapFile.open(full, bits);
      }
      this.sizeBytes = sizeBytes;
    });
  }

  /**
   * Starts filling the volume from a snapshot: every block a hole again, the snapshot's blocks
   * allocated, nothing dirty (the snapshot is the volume's base), nothing hydrated yet.
   */
  async beginRestore(gen: number, needed: Bitmap, fetch: (block: number) => Promise<Buffer>): Promise<void> {
    await this.endRestore();
    await this.removeHydratedFiles();
    if (this.allocated.map.count() > 0) {
      // Blocks were written: every one becomes a hole again. (A new volume has none.)
      await this.data.truncate(0);
      await this.data.truncate(this.sizeBytes);
      await this.data.sync();
    }
    if (this.dirty.map.count() > 0) {
      this.dirty.map.clearAll();
      await this.dirty.persistAll();
    }
    // Only the part of the map that had or now has bits is written.
    const before = this.allocated.map.span();
    this.allocated.map.assign(needed);
    const after = this.allocated.map.span();
    if (before || after)
      await this.allocated.persist({
        from: Math.min(before?.from ?? Infinity, after?.from ?? Infinity),
        to: Math.min(Bitmap.byteLength(this.blocks), Math.max(before?.to ?? 0, after?.to ?? 0)),
      });
    // Created last: its existence says the emptying above is done.
    const hydrated = await BitmapFile.create(path.join(this.dir, hydratedFile(gen)), this.blocks);
    await syncDirectory(this.dir);
    this.hydration = { needed, hydrated, fetch };
  }

  /** After a restart: the fill goes on from what is marked hydrated, if it had begun. */
  async resumeRestore(gen: number, needed: Bitmap, fetch: (block: number) => Promise<Buffer>): Promise<void> {
    const file = path.join(this.dir, hydratedFile(gen));
    const hydrated = await BitmapFile.open(file, this.blocks).catch(() => undefined);
    if (!hydrated) return this.beginRestore(gen, needed, fetch);
    this.hydration = { needed, hydrated, fetch };
  }

  private async removeHydratedFiles(): Promise<void> {
    for (const name of await readdir(this.dir)) {
      if (name.startsWith('hydrated-')) await rm(path.join(this.dir, name), { force: true });
    }
  }

  /** How much of the restore's blocks are in the raw file (0..1), or undefined when none runs. */
  restoreProgress(): number | undefined {
    const h = this.hydration;
    if (!h) return undefined;
    const needed = h.needed.count();
    return needed === 0 ? 1 : Math.min(1, h.hydrated.map.count() / needed);
  }

  /** The blocks still to bring in. */
  unhydrated(): number[] {
    const h = this.hydration;
    if (!h) return [];
    const out: number[] = [];
    for (const block of h.needed.ones()) if (!h.hydrated.map.has(block)) out.push(block);
    return out;
  }

  /** The fill is complete (or abandoned): reads and writes go to the raw file alone. */
  async endRestore(): Promise<void> {
    const h = this.hydration;
    this.hydration = undefined;
    await this.closeDirect();
    this.direct = undefined;
    await h?.hydrated.close();
    await this.removeHydratedFiles();
  }
}

async function createSparse(file: string, size: number): Promise<void> {
  const handle = await open(file, 'w', 0o600);
  try {
    await handle.truncate(size);
    await handle.sync();
  } finally {
    await handle.close();
  }
}

async function writevAll(handle: FileHandle, parts: Buffer[], offset: number): Promise<void> {
  const total = parts.reduce((n, p) => n + p.length, 0);
  const { bytesWritten } = await handle.writev(parts, offset);
  // A short vectored write (rare) is finished piece by piece.
  if (bytesWritten < total)
    await writeAll(handle, Buffer.concat(parts).subarray(bytesWritten), offset + bytesWritten);
}

async function writeAll(handle: FileHandle, data: Uint8Array, offset: number): Promise<void> {
  let done = 0;
  while (done < data.length) {
    const { bytesWritten } = await handle.write(data, done, data.length - done, offset + done);
    done += bytesWritten;
  }
}
