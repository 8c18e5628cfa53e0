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
import { mkdir, open, rename, rm, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { EngineConflict, type Extent } from '../../domain/ports.js';
import { Bitmap, BitmapFile } from './bitmap.js';
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

export const dirtyFile = (gen: number): string => `dirty-${gen}.bitmap`;
export const cowFile = (snapshotId: string): string => `cow-${snapshotId}.data`;

export class Volume {
  /** Serializes writes, freezes and the copy's reads of live blocks. */
  readonly lock = new Mutex();
  readonly guards = new Map<string, CopyGuard>();
  /** A snapshot was frozen with a commit not yet flushed: flush it before the next write. */
  unsyncedFreeze = false;
  /** Closed (the disk is being deleted, or the engine stops): every later call is refused. */
  private closed = false;

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

  get blocks(): number {
    return Math.ceil(this.sizeBytes / this.blockSize);
  }

  static async create(dir: string, blockSize: number, sizeBytes: number): Promise<void> {
    await rm(dir, { recursive: true, force: true });
    await mkdir(dir, { recursive: true });
    const bitmapBytes = Bitmap.byteLength(Math.ceil(sizeBytes / blockSize));
    await createSparse(path.join(dir, 'data.raw'), sizeBytes);
    await createSparse(path.join(dir, dirtyFile(0)), bitmapBytes);
    await createSparse(path.join(dir, 'allocated.bitmap'), bitmapBytes);
    await syncDirectory(dir);
    await syncDirectory(path.dirname(dir));
  }

  static async open(
    diskId: string,
    dir: string,
    row: { blockSize: number; sizeBytes: number; dirtyGen: number },
    hooks: VolumeHooks,
  ): Promise<Volume> {
    const bits = Math.ceil(row.sizeBytes / row.blockSize);
    const data = await open(path.join(dir, 'data.raw'), 'r+');
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
        this.dirty.close(),
        this.allocated.close(),
        ...[...this.guards.values()].map((g) => g.cow?.close()),
      ]);
    });
  }

  private refuseIfClosed(): void {
    if (this.closed) throw new EngineConflict(`volume ${this.diskId} is closed (deleted)`);
  }

  /** An I/O error on a file closed meanwhile is the disk's deletion, not a failure. */
  private closedMeanwhile(error: unknown): never {
    this.refuseIfClosed();
    throw error;
  }

  /** Writes and makes durable. The caller has checked the range. */
  async write(offset: number, data: Uint8Array): Promise<void> {
    if (data.length === 0) return;
    const first = Math.floor(offset / this.blockSize);
    const last = Math.floor((offset + data.length - 1) / this.blockSize);
    await this.lock.runExclusive(async () => {
      this.refuseIfClosed();
      if (this.unsyncedFreeze) {
        await this.hooks.syncMetadata();
        this.unsyncedFreeze = false;
      }
      await this.preserveForSnapshots(first, last);
      const dirtyChange = this.dirty.map.setRange(first, last);
      const allocatedChange = this.allocated.map.setRange(first, last);
      await Promise.all([
        dirtyChange && this.dirty.persist(dirtyChange),
        allocatedChange && this.allocated.persist(allocatedChange),
      ]);
      await writeAll(this.data, data, offset);
    });
    await this.data.datasync().catch((error: unknown) => this.closedMeanwhile(error));
  }

  /** Reads; the part past the end of a short file is zeros (the file is sparse). */
  async read(offset: number, length: number): Promise<Buffer> {
    this.refuseIfClosed();
    const out = Buffer.alloc(length);
    let done = 0;
    while (done < length) {
      const { bytesRead } = await this.data
        .read(out, done, length - done, offset + done)
        .catch((error: unknown) => this.closedMeanwhile(error));
      if (bytesRead === 0) break;
      done += bytesRead;
    }
    return out;
  }

  /** Byte ranges that may hold data (blocks ever written), merged; the rest reads as zeros. */
  extents(): Extent[] {
    this.refuseIfClosed();
    const out: Extent[] = [];
    for (const block of this.allocated.map.ones()) {
      const offset = block * this.blockSize;
      const length = Math.min(this.blockSize, this.sizeBytes - offset);
      const last = out[out.length - 1];
      if (last && last.offset + last.length === offset) last.length += length;
      else out.push({ offset, length });
    }
    return out;
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
    const file = path.join(this.dir, dirtyFile(gen));
    await createSparse(file, Bitmap.byteLength(this.blocks));
    await syncDirectory(this.dir);
    return { gen, file: await BitmapFile.open(file, this.blocks) };
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
   * Starts refilling the volume from a snapshot. The blocks go to a new file beside the live one,
   * which keeps its content (and keeps serving reads) until finishFill swaps them: a restore that
   * fails half way (a damaged chunk) leaves the disk as it was.
   */
  async beginFill(): Promise<Fill> {
    const file = path.join(this.dir, RESTORE_FILE);
    await createSparse(file, this.sizeBytes);
    return { handle: await open(file, 'r+'), allocated: new Bitmap(this.blocks) };
  }

  /** Writes a block of the snapshot into the fill (no copy guards, no dirty bit). */
  async fill(fill: Fill, block: number, data: Buffer): Promise<void> {
    await writeAll(fill.handle, data, block * this.blockSize);
    fill.allocated.setRange(block, block);
  }

  /** The filled file becomes the volume: renamed over the live one, both maps rewritten. */
  async finishFill(fill: Fill): Promise<void> {
    await fill.handle.datasync();
    await rename(path.join(this.dir, RESTORE_FILE), path.join(this.dir, 'data.raw'));
    await syncDirectory(this.dir);
    const old = this.data;
    this.data = fill.handle;
    await old.close();
    this.allocated.map.bytes.set(fill.allocated.bytes);
    this.dirty.map.bytes.fill(0);
    await this.allocated.persistAll();
    await this.dirty.persistAll();
  }

  /** A fill that failed: the live file is untouched, the new one goes. */
  async abortFill(fill: Fill): Promise<void> {
    await fill.handle.close().catch(() => undefined);
    await rm(path.join(this.dir, RESTORE_FILE), { force: true });
  }
}

/** A restore in progress: the new content, written beside the live file. */
export interface Fill {
  handle: FileHandle;
  allocated: Bitmap;
}

const RESTORE_FILE = 'data.restore';

async function createSparse(file: string, size: number): Promise<void> {
  const handle = await open(file, 'w', 0o600);
  try {
    await handle.truncate(size);
    await handle.sync();
  } finally {
    await handle.close();
  }
}

async function writeAll(handle: FileHandle, data: Uint8Array, offset: number): Promise<void> {
  let done = 0;
  while (done < data.length) {
    const { bytesWritten } = await handle.write(data, done, data.length - done, offset + done);
    done += bytesWritten;
  }
}
