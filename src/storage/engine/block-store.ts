// The block engine: volumes (live disks), the chunk store, and snapshots as manifests of chunks.
// One process owns a data directory; everything it acknowledges is durable, and every step that
// can be interrupted is either atomic (one SQLite transaction, one renamed file) or redone from
// what is durable when the engine opens again.
import { Semaphore } from 'async-mutex';
import { mkdir, open, readdir, rm, stat } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import path from 'node:path';
import { Bitmap } from './bitmap.js';
import {
  ChunkKind,
  ChunkStore,
  ChunkUnreadable,
  Codec,
  encodeBlock,
  looksCompressible,
  partIds,
  packWritesCaughtUp,
  PACK_TARGET_BYTES,
  packKey,
  RECORD_HEADER_BYTES,
  READ_SPAN_BYTES,
  releasePackBuffers,
  type Encoded,
  type ReadLease,
} from './chunk-store.js';
import {
  EngineDb,
  type ChunkRow,
  type SnapshotRow,
  type SnapshotState,
  type VolumeRow,
} from './engine-db.js';
import {
  decodePage,
  decodeRoot,
  patchPage,
  encodeRoot,
  PAGE_BLOCKS,
  type Page,
  type Root,
} from './manifest.js';
import { LocalDirectoryStore, ObjectMissing, type ObjectStore } from './object-store.js';
import { BufferPool } from './buffer-pool.js';
import { CopyPipeline } from './copy-pipeline.js';
import { HashPool, type HashedBlocks, type StoredBlocks } from './hash-pool.js';
import { IdleMemory } from './idle-memory.js';
import { cowFile, dirtyFile, Volume, type CopyGuard } from './volume.js';
import {
  EngineConflict,
  EngineDataUnreadable,
  EngineNotReady,
  EngineSnapshotGone,
  type BlockEngine,
  type Extent,
  type VerifyReport,
} from '../../domain/ports.js';

export const DEFAULT_BLOCK_SIZE = 16 * 1024;
const READ_RUN_BLOCKS = 256;
const COPY_SLOTS = 2;
const FILL_SLOTS = 2;
const CHECKPOINT_MS = 1000;
/** A restore marks what it copied (after flushing it) every this many bytes. */
const HYDRATE_FLUSH_BYTES = 64 * 1024 * 1024;
/** A restore reads and writes this many blocks at a time (4 MiB of the default 16 KiB blocks). */
const RESTORE_GROUP_BLOCKS = 256;
/** Groups read ahead of the one being written. */
const RESTORE_GROUPS_AHEAD = 2;
/** How much of the disk a snapshot copy reads and hashes ahead of what it stores. */
const LOOKAHEAD_BYTES = 16 * 1024 * 1024;
/** The pooled size of a read's answer: what the CLI asks for at a time. */
const REPLY_BUFFER_BYTES = 4 * 1024 * 1024;
const HYDRATE_START_DELAY_MS = 100;
/** Copies' buffers, fills' and reads', are let go (then the heap collected) once none has run for this long. */
const IDLE_RELEASE_MS = 250;
const GC_EXCLUSIVE = 1_000_000;

export interface BlockStoreOptions {
  dataDir: string;
  blockSize?: number;
  log?: (event: Record<string, unknown>, message: string) => void;
}

interface PreparedRestore {
  root: Root;
  /** The snapshot's non-zero blocks. */
  needed: Bitmap;
}

const emptyRoot = (blockSize: number, sizeBytes: number): Root => ({
  blockSize,
  sizeBytes,
  pages: new Map(),
});

export class BlockStore implements BlockEngine {
  readonly name = 'local';
  readonly db: EngineDb;
  readonly chunks: ChunkStore;
  private readonly objects: LocalDirectoryStore;
  private readonly volumes = new Map<string, Promise<Volume>>();
  /** Copies hold it shared while they look chunks up; the garbage collector holds it alone. */
  private readonly gcLock = new Semaphore(GC_EXCLUSIVE);
  /** Background restores in progress, by disk. */
  private readonly hydrators = new Map<string, { controller: AbortController; done: Promise<void> }>();
  private readonly freezes = new Map<
    Volume,
    { snapshotId: string; resolve: (state: SnapshotState) => void; reject: (e: unknown) => void }[]
  >();
  /** Copies that move data run two at a time (one per core); however many jobs run. */
  private readonly copySlots = new Semaphore(COPY_SLOTS);
  /** Background fills of restoring disks running at once (see hydrate). */
  private readonly fillSlots = new Semaphore(FILL_SLOTS);
  private readonly fillBuffers = new BufferPool(READ_SPAN_BYTES, FILL_SLOTS * (RESTORE_GROUPS_AHEAD + 1));
  /** Copies running in this process, so that the next snapshot of a disk can wait for one. */
  private readonly copies = new Map<string, Promise<void>>();
  private gcTimer: NodeJS.Timeout | undefined;
  private gcRunning: Promise<void> | undefined;
  private readonly blockSize: number;
  private readonly hashPool: HashPool;
  /** The buffers a snapshot copy reads blocks into (a group of READ_RUN_BLOCKS at a time). */
  private readonly groupBuffers: BufferPool;
  /** Buffers that reads of snapshots (exports) read packs into. */
  private readonly readBuffers = new BufferPool(READ_SPAN_BYTES, 2);
  /**
   * What readVolume and readSnapshot answer in (up to REPLY_BUFFER_BYTES), lent until the caller
   * gives it back with releaseRead: an export reads gigabytes in such pieces, and a fresh buffer
   * each, freed at the collector's pace, held tens of MiB.
   */
  private readonly replyBuffers = new BufferPool(REPLY_BUFFER_BYTES, 4);
  private readonly lent = new WeakSet<ArrayBufferLike>();
  /** Read answers lent and not yet given back. */
  private readsLent = 0;
  /**
   * Copies keep their buffers while they follow one another, and so do fills and reads (an
   * export's); each kind lets them go once none of it has run for a while (a restore after a
   * snapshot does not hold the copy's buffers too).
   */
  private readonly copyMemory = new IdleMemory(
    IDLE_RELEASE_MS,
    () => this.copySlots.getValue() < COPY_SLOTS,
    () => this.groupBuffers.drain() + releasePackBuffers(),
  );
  private readonly fillMemory = new IdleMemory(
    IDLE_RELEASE_MS,
    () => this.fillSlots.getValue() < FILL_SLOTS,
    () => this.fillBuffers.drain(),
  );
  private readonly readMemory = new IdleMemory(
    IDLE_RELEASE_MS,
    () => this.readsLent > 0,
    () => this.replyBuffers.drain() + this.readBuffers.drain() + this.chunks.releaseDecoded(),
  );
  private readonly log: (event: Record<string, unknown>, message: string) => void;

  constructor(private readonly options: BlockStoreOptions) {
    this.blockSize = options.blockSize ?? DEFAULT_BLOCK_SIZE;
    this.groupBuffers = new BufferPool(READ_RUN_BLOCKS * this.blockSize, 8);
    this.log = options.log ?? (() => undefined);
    this.db = new EngineDb(path.join(options.dataDir, 'engine.db'), (file) => this.hashPool.checkpoint(file));
    this.objects = new LocalDirectoryStore(path.join(options.dataDir, 'chunks'));
    const idAlgorithm = this.db.chunkIdAlgorithm();
    this.hashPool = new HashPool(idAlgorithm);
    this.chunks = new ChunkStore(this.objects, this.db, idAlgorithm, this.hashPool);
  }

  get objectStore(): ObjectStore {
    return this.objects;
  }

  private volumeDir(diskId: string): string {
    return path.join(this.options.dataDir, 'volumes', diskId);
  }

  /** Recovery: whatever a crash left half done is removed or finished before anything is served. */
  async open(): Promise<void> {
    await this.objects.init();
    await mkdir(path.join(this.options.dataDir, 'volumes'), { recursive: true });
    const knownPacks = new Set(this.db.packs().map((p) => packKey(p.id)));
    for (const key of await this.objects.list('packs')) {
      // A pack written but never entered in the index: nothing refers to it.
      if (!knownPacks.has(key)) await this.objects.delete(key);
    }
    const rows = new Map(this.db.volumes().map((v) => [v.diskId, v]));
    for (const name of await readdir(path.join(this.options.dataDir, 'volumes'))) {
      if (!rows.has(name)) await rm(this.volumeDir(name), { recursive: true, force: true });
    }
    for (const row of rows.values()) {
      const dir = this.volumeDir(row.diskId);
      for (const name of await readdir(dir)) {
        // A dirty map of a freeze that did not commit, or of one that did (the old one).
        if (name.startsWith('dirty-') && name !== dirtyFile(row.dirtyGen)) await rm(path.join(dir, name));
      }
      if (row.restoreRoot) {
        const volume = await this.volume(row.diskId);
        try {
          await this.startRestore(
            volume,
            row,
            false,
            await this.prepareRestore(row.restoreRoot, volume.blocks),
          );
        } catch (error) {
          // Never a reason not to start: this disk refuses reads and writes, the rest is served.
          if (!(error instanceof EngineDataUnreadable)) throw error;
          volume.broken = error;
          this.log(
            { diskId: row.diskId, err: String(error) },
            'restore cannot go on: the snapshot is damaged',
          );
        }
      }
    }
    for (const snapshot of this.db.snapshots()) {
      if (snapshot.state === 'copying') await this.guard(await this.volume(snapshot.diskId), snapshot);
    }
  }

  async close(): Promise<void> {
    for (const diskId of [...this.hydrators.keys()]) await this.stopHydrator(diskId);
    clearTimeout(this.gcTimer);
    this.copyMemory.stop();
    this.fillMemory.stop();
    this.readMemory.stop();
    await this.gcRunning;
    for (const volume of this.volumes.values()) await (await volume).close();
    this.volumes.clear();
    await this.objects.close();
    await this.hashPool.close();
    this.db.close();
  }

  private volume(diskId: string): Promise<Volume> {
    let volume = this.volumes.get(diskId);
    if (!volume) {
      const row = this.db.volume(diskId);
      if (!row) throw new EngineConflict(`volume ${diskId} does not exist`);
      volume = Volume.open(diskId, this.volumeDir(diskId), row, {
        recordPreserved: async (snapshotId, entries) => {
          this.db.transaction(() => {
            for (const [block, at] of entries) this.db.insertPreserved(snapshotId, block, at);
          });
          await this.db.sync();
        },
        syncMetadata: () => this.db.sync(),
      });
      volume.catch(() => this.volumes.delete(diskId));
      this.volumes.set(diskId, volume);
    }
    return volume;
  }

  // --- volumes -----------------------------------------------------------------------------

  /** A new volume, empty or filled from a complete snapshot. Idempotent. */
  async createVolume(diskId: string, sizeBytes: number, fromSnapshotId?: string): Promise<void> {
    if (this.db.volume(diskId)) return;
    const source = fromSnapshotId === undefined ? undefined : this.completeSnapshot(fromSnapshotId);
    const blockSize = source?.blockSize ?? this.blockSize;
    const prepared = source
      ? await this.prepareRestore(source.root as Buffer, Math.ceil(sizeBytes / blockSize))
      : undefined;
    await Volume.create(this.volumeDir(diskId), blockSize, sizeBytes);
    const row: VolumeRow = {
      diskId,
      sizeBytes,
      blockSize,
      dirtyGen: 0,
      baseSnapshot: source?.id ?? null,
      restoreSnapshot: source?.id ?? null,
      restoreRoot: source?.root ?? null,
      restoreGen: source ? 1 : 0,
    };
    try {
      this.db.transaction(() => {
        // The snapshot may have been deleted while its manifest was read: its row still being
        // there (and so its hold on the root) is what makes the new hold safe.
        if (source) this.stillComplete(source.id);
        this.db.insertVolume(row);
        if (row.restoreRoot) this.db.addRefs(row.restoreRoot, 1);
      });
    } catch (error) {
      await rm(this.volumeDir(diskId), { recursive: true, force: true });
      throw error;
    }
    await this.db.sync();
    if (prepared) await this.startRestore(await this.volume(diskId), row, true, prepared);
  }

  /** Rolls the volume back to a snapshot of it. No snapshot of the volume may be in progress. */
  async resetVolume(diskId: string, snapshotId: string): Promise<void> {
    const source = this.completeSnapshot(snapshotId);
    const volume = await this.volume(diskId);
    if (volume.guards.size > 0) throw new EngineConflict('a snapshot of the disk is still being taken');
    const prepared = await this.prepareRestore(source.root as Buffer, volume.blocks);
    await this.stopHydrator(diskId);
    await volume.lock.runExclusive(async () => {
      if (volume.guards.size > 0) throw new EngineConflict('a snapshot of the disk is still being taken');
      const row = this.db.volume(diskId) as VolumeRow;
      const restoring: VolumeRow = {
        ...row,
        baseSnapshot: source.id,
        restoreSnapshot: source.id,
        restoreRoot: source.root,
        restoreGen: row.restoreGen + 1,
      };
      this.db.transaction(() => {
        this.stillComplete(source.id);
        this.db.updateVolume(restoring);
        this.db.addRefs(source.root as Buffer, 1);
        if (row.restoreRoot) this.db.addRefs(row.restoreRoot, -1);
      });
      await this.db.sync();
      await this.startRestore(volume, restoring, true, prepared);
    });
    this.scheduleGc();
  }

  async resizeVolume(diskId: string, sizeBytes: number): Promise<void> {
    const volume = await this.volume(diskId);
    if (sizeBytes <= volume.sizeBytes) return;
    await volume.grow(sizeBytes);
    const row = this.db.volume(diskId) as VolumeRow;
    this.db.updateVolume({ ...row, sizeBytes });
    await this.db.sync();
  }

  /** Removes the volume. Its snapshots stay; ones still being copied must finish first. */
  async deleteVolume(diskId: string): Promise<void> {
    const row = this.db.volume(diskId);
    if (!row) return;
    if (this.db.pendingSnapshotsOf(diskId).length > 0)
      throw new EngineNotReady('snapshots of the disk are in progress');
    await this.stopHydrator(diskId);
    // Closed under the volume's lock (a write in progress finishes first; later writes and reads
    // are refused with EngineConflict rather than hitting a closed file), and only then forgotten.
    const volume = this.volumes.get(diskId);
    if (volume) await (await volume.catch(() => undefined))?.close().catch(() => undefined);
    this.db.transaction(() => {
      // Read again: a background restore may have finished (and let go of its snapshot) meanwhile.
      const current = this.db.volume(diskId);
      if (!current) return;
      this.db.deleteVolume(diskId);
      if (current.restoreRoot) this.db.addRefs(current.restoreRoot, -1);
    });
    this.volumes.delete(diskId);
    await this.db.sync();
    await rm(this.volumeDir(diskId), { recursive: true, force: true });
    this.scheduleGc();
  }

  async writeVolume(diskId: string, offset: number, data: Uint8Array): Promise<void> {
    await (await this.volume(diskId)).write(offset, data);
  }

  async readVolume(diskId: string, offset: number, length: number): Promise<Buffer> {
    const volume = await this.volume(diskId);
    const out = this.replyBuffer(length);
    try {
      await volume.readInto(out, 0, offset, length);
    } catch (error) {
      this.releaseRead(out);
      throw error;
    }
    return out;
  }

  /** A buffer for a read's answer: pooled when small enough (see replyBuffers). */
  private replyBuffer(length: number): Buffer {
    if (length > this.replyBuffers.size) return Buffer.allocUnsafe(length);
    const buffer = this.replyBuffers.take();
    this.lent.add(buffer.buffer);
    this.readsLent++;
    return buffer.subarray(0, length);
  }

  releaseRead(data: Buffer): void {
    // Only a buffer lent and not yet given back: one given twice would be handed to two readers.
    if (!this.lent.delete(data.buffer)) return;
    this.replyBuffers.give(data);
    this.readsLent--;
    this.readMemory.workEnded();
  }

  async restoreProgress(diskId: string): Promise<number | undefined> {
    return (await this.volume(diskId)).restoreProgress();
  }

  async volumeExtents(diskId: string): Promise<Extent[]> {
    return (await this.volume(diskId)).extents();
  }

  /**
   * Restore: the volume takes the snapshot's content at once (reads of blocks not yet copied are
   * served from the snapshot) and a background task copies the blocks into the raw file.
   */
  /**
   * Reads (and so checks) a snapshot's root and pages, and which blocks it holds, before a restore
   * changes anything: a damaged manifest refuses the restore with the disk untouched.
   */
  private async prepareRestore(rootHash: Buffer, blocks: number): Promise<PreparedRestore> {
    const root = decodeRoot(await this.chunks.get(rootHash));
    const needed = new Bitmap(blocks);
    const pages = await this.chunks.getMany([...root.pages.values()]);
    for (const [index, hash] of root.pages) {
      for (const slot of decodePage(pages.get(hash.toString('latin1')) as Buffer).keys()) {
        const block = index * PAGE_BLOCKS + slot;
        if (block < blocks) needed.setRange(block, block);
      }
    }
    return { root, needed };
  }

  private async startRestore(
    volume: Volume,
    row: VolumeRow,
    fresh: boolean,
    prepared: PreparedRestore,
  ): Promise<void> {
    const { root, needed } = prepared;
    const fetch = this.blockReader(root);
    if (fresh) await volume.beginRestore(row.restoreGen, needed, fetch);
    else await volume.resumeRestore(row.restoreGen, needed, fetch);
    const controller = new AbortController();
    const done = this.hydrate(volume, root, row.restoreGen, controller.signal).catch((error: unknown) => {
      if (!controller.signal.aborted)
        this.log(
          { diskId: volume.diskId, err: String(error) },
          'restore stopped (blocks not yet copied are read from the snapshot); it resumes at the next start',
        );
    });
    this.hydrators.set(volume.diskId, { controller, done });
  }

  /** Copies the snapshot's blocks into the volume, page by page, then ends the restore. */
  private async hydrate(volume: Volume, root: Root, gen: number, signal: AbortSignal): Promise<void> {
    // The disk is usable at once; the bulk copy starts a moment later, so that the request that
    // made the disk and its first reads are not queued behind it.
    await sleep(HYDRATE_START_DELAY_MS, undefined, { signal });
    // A few fills at a time: each holds 16 MiB of buffers, and more at once share the same disk
    // for no faster a total. The disks waiting are usable meanwhile (read from the snapshot). The
    // wait ends if the fill is stopped (a shutdown or a reset must not wait for another fill).
    const slot = this.fillSlots.acquire();
    const stopped = new Promise<never>((_, reject) => {
      signal.addEventListener('abort', () => reject(signal.reason as Error), { once: true });
    });
    stopped.catch(() => undefined); // only raced below
    let release: () => void;
    try {
      signal.throwIfAborted();
      [, release] = await Promise.race([slot, stopped]);
    } catch (error) {
      void slot.then(([, giveBack]) => giveBack());
      throw error;
    }
    try {
      await this.fill(volume, root, gen, signal);
    } finally {
      release();
      this.fillMemory.workEnded();
    }
  }

  private async fill(volume: Volume, root: Root, gen: number, signal: AbortSignal): Promise<void> {
    signal.throwIfAborted();
    const missing = new Set(volume.unhydrated());
    let unflushed = 0;
    // Runs of chunks are read into reused buffers, shared by the fills (allocating gigabytes
    // afresh keeps the collector busy, and a fill's own buffers would be garbage after it, held
    // until the collector's next pass), given back once written into the volume.
    const buffers = this.fillBuffers;
    // The blocks to copy in groups of at most RESTORE_GROUP_BLOCKS, page after page; the chunks
    // of the next RESTORE_GROUPS_AHEAD groups are read (and checked) while one group is written.
    // The writes take most of the time; whole pages (16 MiB) read ahead held three times the
    // buffers for no faster a restore, and one group ahead left the disk waiting.
    const pages = [...root.pages].sort((a, b) => a[0] - b[0]);
    let pageAt = 0;
    const groups: { blocks: number[]; hashes: Buffer[] }[] = [];
    const nextGroup = async () => {
      while (groups.length === 0 && pageAt < pages.length) {
        const [index, pageHash] = pages[pageAt++] as [number, Buffer];
        const page = decodePage(await this.chunks.get(pageHash));
        const slots = [...page].sort((a, b) => a[0] - b[0]);
        for (const [slot, hash] of slots) {
          const block = index * PAGE_BLOCKS + slot;
          if (!missing.has(block)) continue;
          let group = groups[groups.length - 1];
          if (!group || group.blocks.length === RESTORE_GROUP_BLOCKS)
            groups.push((group = { blocks: [], hashes: [] }));
          group.blocks.push(block);
          group.hashes.push(hash);
        }
      }
      return groups.shift();
    };
    // Groups are taken in order (one page read at a time); their chunks are read concurrently.
    let taking: Promise<unknown> = Promise.resolve();
    const load = () => {
      const group = taking.then(nextGroup);
      taking = group;
      const loading = group.then(async (g) => {
        if (!g) return undefined;
        const lease: ReadLease = { pool: buffers, taken: [] };
        const contents = await this.chunks.getMany(g.hashes, lease);
        return {
          blocks: g.blocks,
          contents: g.hashes.map((h) => contents.get(h.toString('latin1')) as Buffer),
          lease,
        };
      });
      loading.catch(() => undefined); // awaited in its round
      return loading;
    };
    const ahead = Array.from({ length: RESTORE_GROUPS_AHEAD }, load);
    // One flush in flight while the copy goes on: the disk writes back one batch while the next
    // is read, checked and written into the page cache.
    let flushing: Promise<void> | undefined;
    try {
      for (;;) {
        signal.throwIfAborted();
        const loaded = await ahead.shift();
        if (!loaded) break;
        ahead.push(load());
        const { blocks, contents, lease } = loaded;
        await volume.hydrate(blocks, contents);
        for (const buffer of lease.taken) buffers.give(buffer);
        unflushed += blocks.length * volume.blockSize;
        if (unflushed >= HYDRATE_FLUSH_BYTES) {
          await flushing;
          flushing = volume.flushHydrated();
          flushing.catch(() => undefined); // awaited before the next one, or below
          unflushed = 0;
        }
      }
    } finally {
      // Never left running past this call (the volume may be closed next).
      await flushing?.catch(() => undefined);
    }
    await flushing;
    await volume.flushHydrated();
    await volume.lock.runExclusive(async () => {
      const row = this.db.volume(volume.diskId);
      if (!row || row.restoreGen !== gen || !row.restoreRoot) return;
      this.db.transaction(() => {
        this.db.updateVolume({ ...row, restoreSnapshot: null, restoreRoot: null });
        this.db.addRefs(row.restoreRoot as Buffer, -1);
      });
      await this.db.sync();
      await volume.endRestore();
    });
    this.hydrators.delete(volume.diskId);
    this.scheduleGc();
  }

  private async stopHydrator(diskId: string): Promise<void> {
    const running = this.hydrators.get(diskId);
    if (!running) return;
    running.controller.abort();
    await running.done;
    this.hydrators.delete(diskId);
  }

  /** Reads one block of a manifest (zeros where it has none), keeping recent pages decoded. */
  private blockReader(root: Root): (block: number) => Promise<Buffer> {
    const pages = new Map<number, Page>();
    return async (block) => {
      const index = Math.floor(block / PAGE_BLOCKS);
      let page = pages.get(index);
      if (!page) {
        const hash = root.pages.get(index);
        page = hash ? decodePage(await this.chunks.get(hash)) : new Map();
        if (pages.size >= 64) pages.delete(pages.keys().next().value as number);
        pages.set(index, page);
      }
      const hash = page.get(block - index * PAGE_BLOCKS);
      return hash ? this.chunks.get(hash) : Buffer.alloc(root.blockSize);
    };
  }

  // --- snapshots ---------------------------------------------------------------------------

  private completeSnapshot(snapshotId: string): SnapshotRow {
    const row = this.db.snapshot(snapshotId);
    if (!row || row.state !== 'complete' || !row.root)
      throw new EngineConflict(`snapshot ${snapshotId} is not complete`);
    return row;
  }

  /** Inside a transaction: the snapshot is still there and complete (else EngineConflict). */
  private stillComplete(snapshotId: string): void {
    const row = this.db.snapshot(snapshotId);
    if (!row || row.state !== 'complete' || !row.root)
      throw new EngineSnapshotGone(`snapshot ${snapshotId} was deleted meanwhile`);
  }

  /**
   * Fixes the snapshot's point in time: the volume's dirty map becomes the snapshot's list of
   * blocks to copy (all written blocks if there is no earlier snapshot to derive from) and a new,
   * empty dirty map starts, in one transaction. From here on, writes preserve what it needs.
   */
  async beginSnapshot(snapshotId: string, diskId: string): Promise<SnapshotState> {
    const known = this.db.snapshotState(snapshotId);
    if (known !== undefined) return known;
    const volume = await this.volume(diskId);
    return new Promise<SnapshotState>((resolve, reject) => {
      const batch = this.freezes.get(volume);
      if (batch) {
        batch.push({ snapshotId, resolve, reject });
      } else {
        this.freezes.set(volume, [{ snapshotId, resolve, reject }]);
        void this.freezeBatch(volume);
      }
    });
  }

  /**
   * Snapshots of one disk requested together share one freeze (one new dirty map, one commit):
   * the first takes the changed blocks, each later one derives from the one before with nothing
   * changed in between, which is exactly what happened.
   */
  private async freezeBatch(volume: Volume): Promise<void> {
    await volume.lock.runExclusive(async () => {
      const batch = this.freezes.get(volume) ?? [];
      this.freezes.delete(volume);
      try {
        // Looked up again under the lock: a second call for a snapshot may have been batched
        // before the first one's freeze committed.
        const states = new Map<string, SnapshotState | undefined>();
        for (const b of batch) states.set(b.snapshotId, this.db.snapshotState(b.snapshotId));
        const fresh = [...states].filter(([, state]) => state === undefined).map(([id]) => id);
        const state = await this.freeze(volume, fresh);
        batch.forEach((b) => b.resolve(states.get(b.snapshotId) ?? state));
      } catch (error) {
        batch.forEach((b) => b.reject(error));
      }
    });
  }

  /** Freezes the snapshots; resolves with the state they start in. */
  private async freeze(volume: Volume, ids: string[]): Promise<SnapshotState> {
    if (ids.length === 0) return 'copying';
    const vrow = this.db.volume(volume.diskId) as VolumeRow;
    const parent = vrow.baseSnapshot ? this.db.snapshot(vrow.baseSnapshot) : undefined;
    const first = ids[0] as string;
    const row = (id: string): SnapshotRow => ({
      id,
      diskId: volume.diskId,
      state: 'copying',
      blockSize: volume.blockSize,
      sizeBytes: volume.sizeBytes,
      parentId: null,
      parentRoot: null,
      pending: Buffer.alloc(0),
      root: null,
      dataBytes: 0,
      addedBytes: 0,
    });

    if (parent && volume.dirty.map.count() === 0) {
      // Nothing written since the previous snapshot: these are the same content, no copy. When
      // they still wait for that snapshot, no flush now: the commit is made durable before the
      // next write to the volume (the only thing that could make a re-freeze after a crash differ).
      this.db.transaction(() => {
        for (const id of ids) {
          if (parent.state === 'complete') {
            this.db.insertSnapshot({
              ...row(id),
              state: 'complete',
              root: parent.root,
              dataBytes: parent.dataBytes,
            });
          } else {
            this.db.insertSnapshot({ ...row(id), parentId: parent.id });
          }
        }
        // Each complete one holds the root once (one update for them all).
        if (parent.state === 'complete') this.db.addRefs(parent.root as Buffer, ids.length);
      });
      if (parent.state === 'complete') {
        // Complete at once: the API marks it available without a job, so the commit must be
        // durable first (else a crash could leave an available snapshot the engine never kept).
        await this.db.sync();
        return 'complete';
      }
      volume.unsyncedFreeze = true;
      return 'copying';
    }

    const next = volume.dirty.map.count() > 0 ? await volume.newDirtyGeneration() : undefined;
    // Read again after the wait: the snapshot to derive from may have been deleted meanwhile (the
    // lock keeps writes out, so the maps are as they were).
    const base = (this.db.volume(volume.diskId) as VolumeRow).baseSnapshot;
    const parentNow = base ? this.db.snapshot(base) : undefined;
    const pending = volume.dirty.map.copy();
    if (!parentNow) pending.or(volume.allocated.map);
    try {
      this.db.transaction(() => {
        this.db.insertSnapshot({
          ...row(first),
          parentId: parentNow?.id ?? null,
          parentRoot: parentNow?.state === 'complete' ? parentNow.root : null,
          pending: pending.toRuns(),
        });
        if (parentNow?.state === 'complete') this.db.addRefs(parentNow.root as Buffer, 1);
        // Later snapshots of the same instant have the first one's content.
        for (const id of ids.slice(1)) this.db.insertSnapshot({ ...row(id), parentId: first });
        // The row as it is now (a restore may have ended during the wait), two fields changed.
        const current = this.db.volume(volume.diskId) as VolumeRow;
        this.db.updateVolume({ ...current, dirtyGen: next?.gen ?? current.dirtyGen, baseSnapshot: first });
      });
    } catch (error) {
      if (next) {
        await next.file.close();
        await rm(path.join(volume.dir, dirtyFile(next.gen)), { force: true });
      }
      throw error;
    }
    // The guard goes in with the commit, before anything awaits: from the moment the row exists,
    // a job may start the copy (its beginSnapshot finds the row), and the copy must use the very
    // guard the write path preserves into. (Installed after the flush below, it once replaced
    // the one the copy had built, and later writes leaked into the snapshot.)
    volume.guards.set(first, {
      snapshotId: first,
      pending,
      donePages: new Set(),
      preserved: new Map(),
      cowSize: 0,
    });
    await this.db.sync();
    if (next) await volume.adoptDirty(next);
    return 'copying';
  }

  /** Rebuilds the write path's view of a copy in progress (after a restart). */
  private async guard(volume: Volume, row: SnapshotRow): Promise<void> {
    if (volume.guards.has(row.id)) return;
    const pending = Bitmap.fromRuns(volume.blocks, row.pending ?? Buffer.alloc(0));
    const donePages = new Set(this.db.checkpointedPages(row.id).map((p) => p.page));
    const preserved = new Map(this.db.preserved(row.id).map((p) => [p.block, p.cowOffset]));
    const guard: CopyGuard = { snapshotId: row.id, pending, donePages, preserved, cowSize: 0 };
    const file = path.join(volume.dir, cowFile(row.id));
    const size = await stat(file).then(
      (s) => s.size,
      () => -1,
    );
    if (size >= 0) {
      guard.cow = await open(file, 'a+');
      guard.cowSize = size;
    }
    volume.guards.set(row.id, guard);
  }

  /**
   * Copies the blocks the snapshot needs into the chunk store and commits its manifest. Resumes
   * from its last checkpoint; a second call on a complete snapshot does nothing.
   */
  async copySnapshot(
    snapshotId: string,
    onProgress: (fraction: number) => Promise<void>,
    signal: AbortSignal,
  ): Promise<void> {
    // Most snapshots of an unchanged disk are complete from their freeze: the state alone tells.
    if (this.db.snapshotState(snapshotId) === 'complete') return;
    let row = this.db.snapshot(snapshotId);
    if (!row) throw new EngineConflict(`snapshot ${snapshotId} was never begun`);
    if (row.state === 'complete') return;
    if (row.parentId && !row.parentRoot) {
      let parent = this.db.snapshot(row.parentId);
      const running = this.copies.get(row.parentId);
      if (parent?.state === 'copying' && running) {
        // The previous snapshot of the disk is copying right now: wait a little for it.
        await Promise.race([running.catch(() => undefined), sleep(2000, undefined, { signal })]);
        parent = this.db.snapshot(row.parentId);
      }
      if (!parent) throw new EngineConflict('the snapshot this one derives from failed');
      if (parent.state !== 'complete')
        throw new EngineNotReady('the previous snapshot of the disk is still being copied');
      row = { ...row, parentRoot: parent.root };
      const held = row;
      this.db.transaction(() => {
        this.db.updateSnapshot(held);
        this.db.addRefs(held.parentRoot as Buffer, 1);
      });
    }
    if (row.parentRoot && (row.pending?.length ?? 0) === 0) {
      // Nothing changed since the previous snapshot: the same manifest (its hold moves over).
      const same = {
        ...row,
        state: 'complete' as const,
        root: row.parentRoot,
        parentRoot: null,
        pending: null,
      };
      same.dataBytes = this.db.snapshot(row.parentId as string)?.dataBytes ?? 0;
      this.db.updateSnapshot(same);
      await this.db.sync();
      await onProgress(1);
      return;
    }
    const volume = await this.volume(row.diskId);
    await this.guard(volume, row);
    const guard = volume.guards.get(snapshotId) as CopyGuard;
    const copy = this.copySlots.runExclusive(async () => {
      await this.gcLock.acquire(1);
      try {
        await this.copyBlocks(row, volume, guard, onProgress, signal);
      } finally {
        this.gcLock.release(1);
        this.copyMemory.workEnded();
      }
    });
    this.copies.set(snapshotId, copy);
    try {
      await copy;
    } finally {
      this.copies.delete(snapshotId);
    }
    // Under the volume's lock: a write still preserving blocks for this snapshot (it decided to
    // before the last checkpoint) finishes with the cow file before it is closed.
    await volume.lock.runExclusive(async () => {
      volume.guards.delete(snapshotId);
      await guard.cow?.close();
    });
    await rm(path.join(volume.dir, cowFile(snapshotId)), { force: true });
  }

  /**
   * Reads a group of blocks for a snapshot copy and hashes them. While the raw file is all there
   * is to read, a hash worker reads the blocks itself: the scattered blocks of an incremental are
   * thousands of reads, which cost the event loop more than the rest of the copy. That read takes
   * no lock; a write that reached the file before it ended had first preserved the block's old
   * content (Volume.preserveForSnapshots), so every block preserved by the time the worker
   * answers is put back from there. Otherwise (a restore still fills the file, say), the blocks
   * are read here under the volume's lock and then hashed.
   */
  private async readGroup(
    volume: Volume,
    guard: CopyGuard,
    group: number[],
  ): Promise<HashedBlocks | StoredBlocks> {
    const bs = volume.blockSize;
    const need = group.length * bs;
    // (Read here, after a worker could not,) a few scattered blocks get a buffer of their own
    // size: many such pages are read ahead, and each holding a whole pooled buffer would cost
    // hundreds of MiB.
    const buffer = () =>
      need <= this.groupBuffers.size && need > this.groupBuffers.size / 4
        ? this.groupBuffers.take().subarray(0, need)
        : Buffer.from(new ArrayBuffer(need));
    // Runs of consecutive blocks: (offset in the buffer, offset in the file, bytes, bytes spanned).
    const runs: number[] = [];
    for (let k = 0; k < group.length;) {
      let run = 1;
      while (k + run < group.length && (group[k + run] as number) === (group[k] as number) + run) run++;
      const start = (group[k] as number) * bs;
      runs.push(k * bs, start, Math.min(run * bs, volume.sizeBytes - start), run * bs);
      k += run;
    }
    const file = volume.plainFile();
    if (file) {
      // Scattered blocks (mostly runs of one) are few per group: the workers have time to spare
      // for compressing them, which the event loop would do otherwise, and they answer the
      // stored forms only (no buffer goes to and fro). Runs of many blocks keep the workers busy
      // hashing, and most of their compressible blocks (a full disk's repeated text) are
      // duplicates, which the event loop finds before compressing; theirs stays there.
      const scattered = runs.length / 4 > group.length / 2;
      // A failed read is done again below, where the error is told as reads tell it.
      const hashed = await (
        scattered
          ? this.hashPool.readAndStore(file, runs, need, bs)
          : this.hashPool.readAndHash(file, runs, buffer(), bs)
      ).catch(() => undefined);
      if (hashed) {
        for (let k = 0; k < group.length; k++) {
          if (!guard.preserved.has(group[k] as number)) continue;
          const content = await volume.readForSnapshot(guard, group[k] as number);
          const zero = content.every((byte) => byte === 0);
          hashed.hashes[k] = zero ? null : this.chunks.id(content);
          hashed.compressible[k] = !zero && looksCompressible(content);
          if ('data' in hashed) content.copy(hashed.data, k * bs);
          else
            hashed.encoded[k] = zero
              ? undefined
              : encodeBlock(content, hashed.compressible[k] as boolean, this.chunks.writeId);
        }
        return hashed;
      }
    }
    const data = await volume.lock.runExclusive(async () => {
      const into = buffer();
      // The runs are read concurrently (one after the other, the thread pool's round trips were
      // most of an incremental's time).
      const reads: Promise<void>[] = [];
      for (let r = 0; r < runs.length; r += 4) {
        const [at, start, length, span] = runs.slice(r, r + 4) as [number, number, number, number];
        reads.push(volume.readInto(into, at, start, length));
        into.fill(0, at + length, at + span);
      }
      await Promise.all(reads);
      // Under the lock, a block preserved so far is the only kind a write may have changed.
      for (let k = 0; k < group.length; k++) {
        if (guard.preserved.has(group[k] as number))
          (await volume.readForSnapshot(guard, group[k] as number)).copy(into, k * bs);
      }
      return into;
    });
    return this.hashPool.hashBlocks(data, bs);
  }

  private async copyBlocks(
    row: SnapshotRow,
    volume: Volume,
    guard: CopyGuard,
    onProgress: (fraction: number) => Promise<void>,
    signal: AbortSignal,
  ): Promise<void> {
    const parent = row.parentRoot
      ? decodeRoot(await this.chunks.get(row.parentRoot))
      : emptyRoot(row.blockSize, row.sizeBytes);
    // An attempt that failed after a checkpoint's commit (its flush failed, or its worker died
    // before answering) left pages the write path does not know are done: made durable, they are.
    const unknown = this.db.checkpointedPages(row.id).filter(({ page }) => !guard.donePages.has(page));
    if (unknown.length > 0) {
      await this.db.sync();
      for (const { page } of unknown) guard.donePages.add(page);
    }
    // Blocks to copy, grouped by page; pages already checkpointed are skipped.
    const byPage = new Map<number, number[]>();
    let total = 0;
    let done = 0;
    for (const block of guard.pending.ones()) {
      const page = Math.floor(block / PAGE_BLOCKS);
      total++;
      if (guard.donePages.has(page)) {
        done++;
        continue;
      }
      let list = byPage.get(page);
      if (!list) byPage.set(page, (list = []));
      list.push(block);
    }
    let lastCheckpoint = Date.now();
    /** Writes the pack filled so far (its checkpoint follows) and reports progress. */
    const checkpoint = async () => {
      await pipeline.seal();
      lastCheckpoint = Date.now();
      await onProgress(total === 0 ? 1 : done / total);
    };
    /** The pages this attempt rebuilt: index → chunk id (null: the page is empty now). */
    const finished = new Map<number, Buffer | null>();
    const pipeline = new CopyPipeline(this.chunks, this.db, async (flushed, pages) => {
      // On a hash worker's connection (see copy-checkpoint.ts); the next reads here see it.
      await this.hashPool.commitCheckpoint(this.db.file, { snapshotId: row.id, flushed, pages });
      // Durable before the write path stops preserving these pages' blocks.
      await this.db.sync();
      for (const { page } of pages) guard.donePages.add(page);
    });

    // Reads a page's blocks and has them hashed on the worker threads (see readGroup). The next
    // pages are loaded while this one is stored.
    const load = async (index: number, blocks: number[]) => {
      // The parent's page (which this copy rebuilds) is read meanwhile, too.
      const parentPage = parent.pages.get(index);
      const previous = parentPage ? this.chunks.get(parentPage) : undefined;
      previous?.catch(() => undefined); // awaited below; not an unhandled rejection meanwhile
      const groups: Promise<{ blocks: number[] } & (HashedBlocks | StoredBlocks)>[] = [];
      // Groups of up to READ_RUN_BLOCKS blocks, scattered or not: one buffer and one trip to a hash
      // worker each (a page of scattered 4 KiB writes is one group, not 1024).
      for (let g = 0; g < blocks.length; g += READ_RUN_BLOCKS) {
        const group = blocks.slice(g, g + READ_RUN_BLOCKS);
        groups.push(this.readGroup(volume, guard, group).then((h) => ({ blocks: group, ...h })));
      }
      const runs = await Promise.all(groups);
      return { runs, previous: await previous };
    };
    const order = [...byPage].sort((a, b) => a[0] - b[0]);
    // Pages are read and hashed ahead of the one being stored: up to LOOKAHEAD_BYTES of blocks
    // (one full page; many pages of a few scattered blocks, so that every hash worker stays busy).
    const ahead: ReturnType<typeof load>[] = [];
    let aheadBytes = 0;
    let started = 0;
    const readAhead = () => {
      while (
        started < order.length &&
        (ahead.length === 0 ||
          aheadBytes + (order[started] as [number, number[]])[1].length * volume.blockSize <= LOOKAHEAD_BYTES)
      ) {
        const [index, blocks] = order[started++] as [number, number[]];
        const loading = load(index, blocks);
        loading.catch(() => undefined); // awaited in its round; not an unhandled rejection meanwhile
        ahead.push(loading);
        aheadBytes += blocks.length * volume.blockSize;
      }
    };
    // A copy that fails lets the packs it started finish (or fail) before it reports: nothing of
    // it is committed after its job has moved on.
    let pages: Map<number, Buffer>;
    let rootHash: Buffer;
    try {
      for (let p = 0; p < order.length; p++) {
        signal.throwIfAborted();
        const [index, blocks] = order[p] as [number, number[]];
        readAhead();
        const { runs, previous } = await (ahead.shift() as ReturnType<typeof load>);
        aheadBytes -= blocks.length * volume.blockSize;
        readAhead();
        // The blocks' ids, and the sectors' of those the workers answered as parts.
        pipeline.learn(
          runs.flatMap((r) => [
            ...r.hashes.filter((h): h is Buffer => h !== null),
            ...('encoded' in r
              ? r.encoded.flatMap((e) => (e?.codec === Codec.Parts ? partIds(e.stored) : []))
              : []),
          ]),
        );
        /** slot → the block's chunk id, or null when it is zero now */
        const changes = new Map<number, Buffer | null>();
        const bs = volume.blockSize;
        for (const run of runs) {
          const { blocks: group, hashes } = run;
          for (let k = 0; k < hashes.length; k++) {
            const hash = hashes[k] as Buffer | null;
            const slot = (group[k] as number) - index * PAGE_BLOCKS;
            changes.set(
              slot,
              hash &&
                ('data' in run
                  ? pipeline.store(
                      ChunkKind.Data,
                      run.data.subarray(k * bs, (k + 1) * bs),
                      hash,
                      run.compressible[k],
                    )
                  : pipeline.store(ChunkKind.Data, run.encoded[k] as Encoded, hash)),
            );
            // A full pack is finished at once, mid-page if need be: the rest of the page goes into
            // the next pack, whose checkpoint finishes the page.
            done++;
            if (pipeline.fillingBytes >= PACK_TARGET_BYTES) await checkpoint();
          }
          // The packs' writes catch up before more is put in (memory: see packWritesCaughtUp).
          const caughtUp = packWritesCaughtUp();
          if (caughtUp) await caughtUp;
        }
        // Every new block was copied into the pack: the read buffers go back for reuse.
        for (const run of runs) if ('data' in run) this.groupBuffers.give(run.data);
        const page = patchPage(previous, changes);
        const rebuilt = page ? pipeline.store(ChunkKind.Page, page) : null;
        finished.set(index, rebuilt);
        pipeline.finishPage({ page: index, hash: rebuilt });
        if (pipeline.fillingBytes >= PACK_TARGET_BYTES || Date.now() - lastCheckpoint >= CHECKPOINT_MS)
          await checkpoint();
      }
      // The manifest: the parent's pages, with the ones rebuilt put in (by an earlier attempt,
      // checkpointed, or by this one). It goes into the last pack, with the last pages: a pack
      // (and its flushes) fewer than a pack of its own. Indexed, nothing holds it until the
      // commit below; should a crash come between, the collector may drop it, and the resumed
      // copy stores it again.
      pages = new Map(parent.pages);
      const rebuilt = [
        ...this.db.checkpointedPages(row.id).map(({ page, hash }) => [page, hash] as const),
        ...finished,
      ];
      for (const [page, hash] of rebuilt) {
        if (hash) pages.set(page, hash);
        else pages.delete(page);
      }
      rootHash = pipeline.store(
        ChunkKind.Root,
        encodeRoot({ blockSize: row.blockSize, sizeBytes: row.sizeBytes, pages }),
      );
      await pipeline.drain();
    } catch (error) {
      await pipeline.abandon();
      throw error;
    }
    let dataBlocks = 0;
    for (const hash of pages.values()) dataBlocks += pageEntries(this.db.chunk(hash)?.rawLen ?? 0);
    this.db.transaction(() => {
      this.db.addRefs(rootHash, 1);
      for (const { hash } of this.db.checkpointedPages(row.id)) if (hash) this.db.addRefs(hash, -1);
      this.db.deleteCheckpointedPages(row.id);
      if (row.parentRoot) this.db.addRefs(row.parentRoot, -1);
      this.db.deletePreserved(row.id);
      const current = this.db.snapshot(row.id) as SnapshotRow;
      this.db.updateSnapshot({
        ...current,
        state: 'complete',
        parentRoot: null,
        pending: null,
        root: rootHash,
        dataBytes: dataBlocks * row.blockSize,
      });
    });
    await this.db.sync();
    await onProgress(1);
  }

  /**
   * A snapshot that will never complete (its copy failed for good): the changes it was to capture
   * go back to the volume's dirty map, and what it held is released. Snapshots derived from it
   * cannot complete either (their copy reports it).
   */
  async abandonSnapshot(snapshotId: string): Promise<void> {
    const row = this.db.snapshot(snapshotId);
    if (!row || row.state === 'complete') return;
    const vrow = this.db.volume(row.diskId);
    const release = () => {
      if (row.parentRoot) this.db.addRefs(row.parentRoot, -1);
      for (const { hash } of this.db.checkpointedPages(row.id)) if (hash) this.db.addRefs(hash, -1);
      this.db.deleteCheckpointedPages(row.id);
      this.db.deletePreserved(row.id);
      this.db.deleteSnapshot(row.id);
    };
    if (!vrow) {
      this.db.transaction(release);
      await this.db.sync();
    } else {
      const volume = await this.volume(row.diskId);
      await volume.lock.runExclusive(async () => {
        volume.dirty.map.or(Bitmap.fromRuns(volume.blocks, row.pending ?? Buffer.alloc(0)));
        await volume.dirty.persistAll();
        this.db.transaction(() => {
          release();
          const current = this.db.volume(row.diskId) as VolumeRow;
          if (current.baseSnapshot === row.id)
            this.db.updateVolume({ ...current, baseSnapshot: row.parentId });
        });
        const guard = volume.guards.get(row.id);
        volume.guards.delete(row.id);
        await guard?.cow?.close();
        await rm(path.join(volume.dir, cowFile(row.id)), { force: true });
      });
    }
    this.scheduleGc();
  }

  /** CopySnapshot: the new snapshot shares the source's manifest (and so every chunk). */
  async shareSnapshot(sourceId: string, newId: string): Promise<void> {
    if (this.db.snapshot(newId)) return;
    const source = this.completeSnapshot(sourceId);
    this.db.transaction(() => {
      this.db.insertSnapshot({ ...source, id: newId, addedBytes: 0 });
      this.db.addRefs(source.root as Buffer, 1);
    });
    await this.db.sync();
  }

  async deleteSnapshot(snapshotId: string): Promise<void> {
    const row = this.db.snapshot(snapshotId);
    if (!row) return;
    if (row.state !== 'complete') return this.abandonSnapshot(snapshotId);
    this.db.transaction(() => {
      this.db.deleteSnapshot(snapshotId);
      this.db.addRefs(row.root as Buffer, -1);
    });
    await this.db.sync();
    this.scheduleGc();
  }

  // --- reading snapshots ---------------------------------------------------------------------

  private async root(snapshotId: string): Promise<Root> {
    return decodeRoot(await this.chunks.get(this.completeSnapshot(snapshotId).root as Buffer));
  }

  async snapshotExtents(snapshotId: string): Promise<Extent[]> {
    const root = await this.root(snapshotId);
    const out: Extent[] = [];
    for (const [index, hash] of [...root.pages].sort((a, b) => a[0] - b[0])) {
      const slots = [...decodePage(await this.chunks.get(hash)).keys()].sort((a, b) => a - b);
      for (const slot of slots) {
        const offset = (index * PAGE_BLOCKS + slot) * root.blockSize;
        const length = Math.min(root.blockSize, root.sizeBytes - offset);
        const last = out[out.length - 1];
        if (last && last.offset + last.length === offset) last.length += length;
        else out.push({ offset, length });
      }
    }
    return out;
  }

  async readSnapshot(snapshotId: string, offset: number, length: number): Promise<Buffer> {
    const root = await this.root(snapshotId);
    const bs = root.blockSize;
    const wanted: { block: number; hash: Buffer }[] = [];
    let page: { index: number; map: Page } | undefined;
    for (let block = Math.floor(offset / bs); block * bs < offset + length; block++) {
      const index = Math.floor(block / PAGE_BLOCKS);
      if (page?.index !== index) {
        const hash = root.pages.get(index);
        page = { index, map: hash ? decodePage(await this.chunks.get(hash)) : new Map() };
      }
      const hash = page.map.get(block - index * PAGE_BLOCKS);
      if (hash) wanted.push({ block, hash });
    }
    // Read into reused buffers: an export reads the whole snapshot this way.
    const lease: ReadLease = { pool: this.readBuffers, taken: [] };
    const contents = await this.chunks.getMany(
      wanted.map((w) => w.hash),
      lease,
    );
    const out = this.replyBuffer(length).fill(0);
    for (const { block, hash } of wanted) {
      const data = contents.get(hash.toString('latin1')) as Buffer;
      const from = Math.max(offset, block * bs);
      const to = Math.min(offset + length, block * bs + data.length);
      if (to > from) data.copy(out, from - offset, from - block * bs, to - block * bs);
    }
    for (const buffer of lease.taken) this.readBuffers.give(buffer);
    return out;
  }

  storedBytes(): number {
    return this.db.storedBytes();
  }

  // --- garbage ---------------------------------------------------------------------------------

  scheduleGc(): void {
    clearTimeout(this.gcTimer);
    this.gcTimer = setTimeout(() => {
      this.gcRunning = this.collectGarbage()
        .then(() => undefined)
        .catch((error: unknown) =>
          this.log({ err: String(error) }, 'garbage collection failed; it runs again later'),
        )
        .finally(() => (this.gcRunning = undefined));
    }, 50);
    this.gcTimer.unref();
  }

  /**
   * Removes every object no one holds, releasing what it held in turn, then deletes packs left
   * empty and rewrites packs that are mostly dead. Runs alone: no copy looks chunks up meanwhile.
   * Roots first (what they let go of may leave pages unheld), then pages (settling the live ones),
   * data chunks when every page's holds are counted, and last the sectors that the blocks stored
   * as their parts let go of.
   */
  async collectGarbage(): Promise<{ chunks: number; packsDeleted: number; packsRewritten: number }> {
    await this.gcLock.acquire(GC_EXCLUSIVE);
    try {
      let removed = await this.removeGarbage(ChunkKind.Root);
      const pages = await this.settlePages();
      removed += pages.removed;
      // A live page that could not be read names chunks no count shows: none is removed.
      if (pages.unreadable === 0) {
        removed += await this.removeGarbage(ChunkKind.Data);
        removed += await this.removeGarbage(ChunkKind.Sector);
      }
      let packsDeleted = 0;
      let packsRewritten = 0;
      for (const pack of this.db.packs()) {
        if (pack.liveBytes <= 0) {
          this.db.deletePack(pack.id);
          await this.db.sync();
          await this.objects.delete(packKey(pack.id));
          packsDeleted++;
        } else if (pack.liveBytes < pack.bytes / 2) {
          await this.rewritePack(pack.id);
          packsRewritten++;
        }
      }
      return { chunks: removed, packsDeleted, packsRewritten };
    } finally {
      this.gcLock.release(GC_EXCLUSIVE);
    }
  }

  /**
   * Removes unheld roots (letting go of their pages), data chunks (a block stored as its parts
   * letting go of its sectors) or sectors, 512 at a time.
   */
  private async removeGarbage(kind: ChunkKind.Root | ChunkKind.Data | ChunkKind.Sector): Promise<number> {
    let removed = 0;
    for (;;) {
      const garbage = this.db.garbage(kind);
      if (garbage.length === 0) return removed;
      const children = new Map<string, Buffer[]>();
      for (const row of garbage) {
        const held =
          kind === ChunkKind.Root
            ? await this.manifestEntries(row)
            : row.codec === Codec.Parts
              ? await this.sectorsOf(row)
              : undefined;
        if (held) children.set(row.hash.toString('latin1'), held);
      }
      this.db.transaction(() => {
        for (const row of garbage) {
          for (const child of children.get(row.hash.toString('latin1')) ?? []) this.db.addRefs(child, -1);
          this.db.deleteChunk(row.hash);
          this.db.addPackLive(row.pack, -(RECORD_HEADER_BYTES + row.storedLen));
        }
      });
      await this.db.sync();
      removed += garbage.length;
    }
  }

  /**
   * Removes unheld pages and settles held unsettled ones, a batch of each per transaction: a dead
   * settled page lets go of its entries, a dead unsettled one of nothing (it never counted them),
   * a live unsettled one takes its entries' holds. Where a new page and the old one it replaced
   * name the same chunk, the two cancel out and the chunk's row is not written.
   */
  private async settlePages(): Promise<{ removed: number; unreadable: number }> {
    let removed = 0;
    let unreadable = 0;
    let after: Buffer = Buffer.alloc(0);
    for (;;) {
      const dead = this.db.garbage(ChunkKind.Page);
      const live = this.db.liveUnsettled(after);
      if (dead.length === 0 && live.length === 0) return { removed, unreadable };
      if (live.length > 0) after = (live[live.length - 1] as ChunkRow).hash;
      const delta = new Map<string, { hash: Buffer; n: number }>();
      const count = (hashes: Buffer[], n: number) => {
        for (const hash of hashes) {
          const key = hash.toString('latin1');
          const entry = delta.get(key);
          if (entry) entry.n += n;
          else delta.set(key, { hash, n });
        }
      };
      const deadUnsettled = new Set<string>();
      for (const row of dead) {
        if (this.db.isUnsettled(row.hash)) deadUnsettled.add(row.hash.toString('latin1'));
        else count((await this.manifestEntries(row)) ?? [], -1);
      }
      const settled: Buffer[] = [];
      for (const row of live) {
        const entries = await this.manifestEntries(row);
        if (!entries) {
          unreadable++;
          continue;
        }
        count(entries, 1);
        settled.push(row.hash);
      }
      this.db.transaction(() => {
        const byDelta = new Map<number, Buffer[]>();
        for (const { hash, n } of delta.values()) {
          if (n === 0) continue;
          let list = byDelta.get(n);
          if (!list) byDelta.set(n, (list = []));
          list.push(hash);
        }
        for (const [n, hashes] of byDelta) this.db.addRefEach(hashes, n);
        for (const row of dead) {
          if (deadUnsettled.has(row.hash.toString('latin1'))) this.db.settled(row.hash);
          this.db.deleteChunk(row.hash);
          this.db.addPackLive(row.pack, -(RECORD_HEADER_BYTES + row.storedLen));
        }
        for (const hash of settled) this.db.settled(hash);
      });
      await this.db.sync();
      removed += dead.length;
    }
  }

  /** The chunks a page or root names; undefined (logged) if it cannot be read. */
  private async manifestEntries(row: ChunkRow): Promise<Buffer[] | undefined> {
    try {
      const data = await this.chunks.read(row);
      return row.kind === ChunkKind.Page
        ? [...decodePage(data).values()]
        : [...decodeRoot(data).pages.values()];
    } catch (error) {
      this.log(
        { chunk: row.hash.toString('hex'), err: String(error) },
        row.kind === ChunkKind.Page
          ? 'unreadable manifest page: what it names is kept (no data chunk is removed while it is held)'
          : 'unreadable manifest object: what it names is kept',
      );
      return undefined;
    }
  }

  /**
   * The sectors a block stored as its parts names; undefined (logged) if its record cannot be read:
   * they are kept, held for nobody (a leak, never a loss).
   */
  private async sectorsOf(row: ChunkRow): Promise<Buffer[] | undefined> {
    try {
      return partIds(await this.chunks.readStored(row));
    } catch (error) {
      this.log(
        { chunk: row.hash.toString('hex'), err: String(error) },
        'unreadable block record: the sectors it names are kept',
      );
      return undefined;
    }
  }

  /** Moves a pack's live chunks into a new pack; the old one is deleted once the index points away. */
  private async rewritePack(packId: string): Promise<void> {
    const pack = this.chunks.newPack();
    const live = this.db.chunksInPack(packId);
    let flushed;
    try {
      for (const row of live) {
        // Checked as any read is; a block stored as its parts moves as it is (its sectors' holds
        // stay as they are).
        const raw = await this.chunks.read(row);
        pack.add(
          row.hash,
          row.kind as ChunkKind,
          row.codec === Codec.Parts
            ? { codec: Codec.Parts, stored: await this.chunks.readStored(row), rawLength: row.rawLen }
            : raw,
        );
      }
      flushed = await pack.flush();
    } catch (error) {
      await pack.abort();
      throw error;
    }
    this.db.transaction(() => {
      if (flushed) {
        const liveBytes = flushed.chunks.reduce((sum, c) => sum + RECORD_HEADER_BYTES + c.storedLen, 0);
        this.db.insertPack(flushed.packId, flushed.bytes, liveBytes);
        const at = new Map(flushed.chunks.map((c) => [c.hash.toString('hex'), c]));
        for (const row of live) {
          const moved = at.get(row.hash.toString('hex'));
          if (moved) this.db.moveChunk(row.hash, moved.pack, moved.offset);
        }
      }
      this.db.deletePack(packId);
    });
    await this.db.sync();
    await this.objects.delete(packKey(packId));
  }

  // --- verify ----------------------------------------------------------------------------------

  /** Re-reads and re-hashes every chunk, checks every manifest, and names the snapshots affected. */
  async verify(onProgress?: (done: number, total: number) => void): Promise<VerifyReport> {
    // Shared with copies, exclusive of the garbage collector: no pack moves or goes while it reads.
    await this.gcLock.acquire(1);
    try {
      return await this.verifyStore(onProgress);
    } finally {
      this.gcLock.release(1);
    }
  }

  private async verifyStore(onProgress?: (done: number, total: number) => void): Promise<VerifyReport> {
    const bad = new Map<string, string>();
    let chunks = 0;
    let bytes = 0;
    const packs = this.db.packs();
    let packsDone = 0;
    // Pack by pack, each pack's rows read whole: a statement left open across the awaits below
    // would keep the connection busy, and every other engine call would fail meanwhile.
    for (const pack of packs) {
      onProgress?.(++packsDone, packs.length);
      // The file itself, not only an open handle: a pack deleted while it is open still reads.
      const gone = await this.objects.size(packKey(pack.id)).then(
        () => false,
        (error: unknown) => error instanceof ObjectMissing,
      );
      for (const row of this.db.chunksInPack(pack.id)) {
        chunks++;
        bytes += row.storedLen;
        if (gone) {
          bad.set(row.hash.toString('hex'), `pack ${pack.id} is missing`);
          continue;
        }
        try {
          await this.chunks.read(row, true);
        } catch (error) {
          bad.set(row.hash.toString('hex'), error instanceof ChunkUnreadable ? error.reason : String(error));
        }
      }
    }
    const problems: VerifyReport['problems'] = [];
    const affected = new Map<string, Set<string>>();
    const blame = (what: string, snapshot: string) => {
      let set = affected.get(what);
      if (!set) affected.set(what, (set = new Set()));
      set.add(snapshot);
    };
    const snapshots = this.db.snapshots().filter((s) => s.state === 'complete');
    for (const snapshot of snapshots) {
      const rootHex = (snapshot.root as Buffer).toString('hex');
      if (bad.has(rootHex) || !this.db.chunk(snapshot.root as Buffer)) {
        blame(`manifest root ${rootHex}: ${bad.get(rootHex) ?? 'missing'}`, snapshot.id);
        continue;
      }
      const root = decodeRoot(await this.chunks.get(snapshot.root as Buffer));
      for (const [index, pageHash] of root.pages) {
        const pageHex = pageHash.toString('hex');
        if (bad.has(pageHex) || !this.db.chunk(pageHash)) {
          blame(`manifest page ${index} (${pageHex}): ${bad.get(pageHex) ?? 'missing'}`, snapshot.id);
          continue;
        }
        for (const [slot, hash] of decodePage(await this.chunks.get(pageHash))) {
          const hex = hash.toString('hex');
          if (bad.has(hex)) blame(`chunk ${hex}: ${bad.get(hex)}`, snapshot.id);
          else if (!this.db.chunk(hash))
            blame(`chunk ${hex} (block ${index * PAGE_BLOCKS + slot}): missing`, snapshot.id);
        }
      }
    }
    for (const [what, set] of affected) problems.push({ what, snapshots: [...set].sort() });
    for (const [hex, reason] of bad) {
      if (![...affected.keys()].some((k) => k.includes(hex)))
        problems.push({ what: `chunk ${hex}: ${reason}`, snapshots: [] });
    }
    return { chunks, bytes, snapshots: snapshots.length, problems };
  }
}

/** How many blocks a page names, from its stored length (no need to read it). */
function pageEntries(rawLen: number): number {
  return rawLen >= 8 ? (rawLen - 8) / 34 : 0;
}
