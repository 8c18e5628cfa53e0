// The block engine's own index, in its own SQLite file (engine.db) beside the API's metadata: where
// each chunk lives and how many holders it has, the snapshots' manifests, the volumes' state. Its
// writes are few and large (one per pack flush), so they never queue behind the API's commits.
//
// Reference counts: a data chunk is held once by every settled page entry naming it; a sector by
// every data chunk stored as its parts naming it (counted when that chunk is entered); a page by
// every root and every copy checkpoint naming it; a root by every complete snapshot (a copy shares
// its source's root) and every copy deriving from it. A new page is unsettled (listed in
// unsettled_pages): its entries' holds are not counted yet. The garbage collector settles the
// live ones before it removes any data chunk, and drops dead unsettled pages without releasing
// anything; so an incremental snapshot's rebuilt pages cost no update per unchanged entry, and the
// holds a new page takes and an old page lets go of cancel out. An object whose count is 0 (and,
// for a data chunk, that no unsettled page names) is garbage; only the garbage collector removes
// it, and it runs while no copy is looking chunks up (see BlockStore.gcLock).
import Database from 'better-sqlite3';
import { open, type FileHandle } from 'node:fs/promises';
import { applyMigrations, type Migration } from '../sqlite/migrate.js';
import { isChunkIdAlgorithm, type ChunkIdAlgorithm } from './chunk-id.js';

export const ENGINE_MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'block engine',
    sql: `
CREATE TABLE volumes (
  disk_id          TEXT PRIMARY KEY,
  size_bytes       BIGINT NOT NULL,
  block_size       INTEGER NOT NULL,
  dirty_gen        INTEGER NOT NULL,
  base_snapshot    TEXT,
  restore_snapshot TEXT,
  restore_root     BLOB,
  restore_gen      INTEGER NOT NULL,
  created_ms       BIGINT NOT NULL
);

CREATE TABLE snapshots (
  id          TEXT PRIMARY KEY,
  disk_id     TEXT NOT NULL,
  state       TEXT NOT NULL,
  block_size  INTEGER NOT NULL,
  size_bytes  BIGINT NOT NULL,
  parent_id   TEXT,
  parent_root BLOB,
  pending     BLOB,
  root        BLOB,
  data_bytes  BIGINT NOT NULL,
  added_bytes BIGINT NOT NULL,
  created_ms  BIGINT NOT NULL
);
CREATE INDEX snapshots_by_disk ON snapshots (disk_id);

CREATE TABLE snapshot_pages (
  snapshot_id TEXT NOT NULL,
  page        BIGINT NOT NULL,
  hash        BLOB,
  PRIMARY KEY (snapshot_id, page)
);

CREATE TABLE preserved (
  snapshot_id TEXT NOT NULL,
  block       BIGINT NOT NULL,
  cow_offset  BIGINT NOT NULL,
  PRIMARY KEY (snapshot_id, block)
);

CREATE TABLE packs (
  id         TEXT PRIMARY KEY,
  bytes      BIGINT NOT NULL,
  live_bytes BIGINT NOT NULL,
  created_ms BIGINT NOT NULL
);

CREATE TABLE chunks (
  hash       BLOB PRIMARY KEY,
  kind       INTEGER NOT NULL,
  pack       TEXT NOT NULL,
  offset     BIGINT NOT NULL,
  stored_len INTEGER NOT NULL,
  raw_len    INTEGER NOT NULL,
  codec      INTEGER NOT NULL,
  refs       BIGINT NOT NULL
) WITHOUT ROWID; -- SQLite: the table is its key's B-tree (one lookup, one insert per chunk)
CREATE INDEX chunks_garbage ON chunks (refs) WHERE refs = 0;
CREATE INDEX chunks_by_pack ON chunks (pack);
`,
  },
  {
    version: 2,
    name: 'deferred page holds',
    sql: `
CREATE TABLE unsettled_pages (
  hash BLOB PRIMARY KEY
) WITHOUT ROWID;
`,
  },
  {
    // Chunk rows are appended in the order they come (a rowid table), and name their pack by its
    // number. Keyed by chunk id, each commit of a pack's 512 chunks rewrote hundreds of pages of
    // 80-byte rows spread at random over the table, and as many of the garbage index (which held
    // the id too); now only the id index takes random inserts, of 40-byte entries. The full
    // snapshot's commits cost about half as much.
    version: 3,
    name: 'chunks in insertion order, packs numbered',
    sql: `
CREATE TABLE packs_v3 (
  seq        INTEGER PRIMARY KEY,
  id         TEXT NOT NULL UNIQUE,
  bytes      BIGINT NOT NULL,
  live_bytes BIGINT NOT NULL,
  created_ms BIGINT NOT NULL
);
INSERT INTO packs_v3 (id, bytes, live_bytes, created_ms)
  SELECT id, bytes, live_bytes, created_ms FROM packs ORDER BY created_ms;
INSERT INTO packs_v3 (id, bytes, live_bytes, created_ms)
  SELECT DISTINCT pack, 0, 0, 0 FROM chunks WHERE pack NOT IN (SELECT id FROM packs);
CREATE TABLE chunks_v3 (
  seq        INTEGER PRIMARY KEY,
  hash       BLOB NOT NULL UNIQUE,
  kind       INTEGER NOT NULL,
  pack       INTEGER NOT NULL,
  offset     BIGINT NOT NULL,
  stored_len INTEGER NOT NULL,
  raw_len    INTEGER NOT NULL,
  codec      INTEGER NOT NULL,
  refs       BIGINT NOT NULL
);
INSERT INTO chunks_v3 (hash, kind, pack, offset, stored_len, raw_len, codec, refs)
  SELECT c.hash, c.kind, p.seq, c.offset, c.stored_len, c.raw_len, c.codec, c.refs
  FROM chunks c, packs_v3 p WHERE p.id = c.pack ORDER BY p.seq, c.offset;
DROP TABLE chunks;
DROP TABLE packs;
ALTER TABLE packs_v3 RENAME TO packs;
ALTER TABLE chunks_v3 RENAME TO chunks;
CREATE INDEX chunks_garbage ON chunks (refs) WHERE refs = 0;
CREATE INDEX chunks_by_pack ON chunks (pack);
`,
  },
  {
    // How chunk ids are computed (see chunk-id.ts): fixed for the store's life. A store that
    // already holds chunks keeps SHA-256, with which they were named; any other starts on BLAKE3.
    version: 4,
    name: 'chunk id algorithm',
    sql: `
CREATE TABLE settings (
  key   TEXT PRIMARY KEY,
  value TEXT NOT NULL
) WITHOUT ROWID;
INSERT INTO settings (key, value)
  VALUES ('chunk_id', CASE WHEN EXISTS (SELECT 1 FROM chunks) THEN 'sha256' ELSE 'blake3' END);
`,
  },
];

const KNOWN_BATCH = 128;

/**
 * A batch of ids as a table `w` of (slot, id), for the lookups of many chunks at once: each row
 * found names its slot, so the id need not come back (a Buffer copied out per row, which a
 * restore of 80,000 chunks paid for in the event loop and in garbage), and the index is walked
 * once per id in the batch's order. Measured on a full snapshot's index: 83 ms instead of 186-224
 * ms for 57,000 chunks; 37 instead of 77 ms for asking which ones are there.
 */
const BATCH_IDS = `WITH w(i, h) AS (VALUES ${Array.from({ length: KNOWN_BATCH }, (_, i) => `(${i}, ?)`).join(', ')})`;

/**
 * The ids in batches of exactly KNOWN_BATCH, as the statements' fixed slots take them: the unused
 * slots of the last batch repeat its first id; `used` says how many hold ids given.
 */
function* idBatches(hashes: Buffer[]): Generator<{ batch: Buffer[]; used: number }> {
  for (let i = 0; i < hashes.length; i += KNOWN_BATCH) {
    const batch = hashes.slice(i, i + KNOWN_BATCH);
    const used = batch.length;
    while (batch.length < KNOWN_BATCH) batch.push(batch[0] as Buffer);
    yield { batch, used };
  }
}

/** See EngineDb.afterWrite. */
const CHECKPOINT_EVERY_MS = 250;

export type SnapshotState = 'copying' | 'complete';

export interface VolumeRow {
  diskId: string;
  sizeBytes: number;
  blockSize: number;
  /** Which dirty-<gen>.bitmap file is the volume's current one. */
  dirtyGen: number;
  baseSnapshot: string | null;
  restoreSnapshot: string | null;
  restoreRoot: Buffer | null;
  /** Numbers the restores of this volume; names its hydrated-<gen>.bitmap. */
  restoreGen: number;
}

export interface SnapshotRow {
  id: string;
  diskId: string;
  state: SnapshotState;
  blockSize: number;
  sizeBytes: number;
  parentId: string | null;
  parentRoot: Buffer | null;
  /** The blocks to copy (run-encoded bitmap), fixed when the snapshot was frozen. */
  pending: Buffer | null;
  root: Buffer | null;
  dataBytes: number;
  addedBytes: number;
}

export interface ChunkRow {
  hash: Buffer;
  kind: number;
  pack: string;
  offset: number;
  storedLen: number;
  rawLen: number;
  codec: number;
  refs: number;
}

const VOLUME_COLUMNS =
  'disk_id AS diskId, size_bytes AS sizeBytes, block_size AS blockSize, dirty_gen AS dirtyGen, base_snapshot AS baseSnapshot, restore_snapshot AS restoreSnapshot, restore_root AS restoreRoot, restore_gen AS restoreGen';
const SNAPSHOT_COLUMNS =
  'id, disk_id AS diskId, state, block_size AS blockSize, size_bytes AS sizeBytes, parent_id AS parentId, parent_root AS parentRoot, pending, root, data_bytes AS dataBytes, added_bytes AS addedBytes';
/** A chunk's row, with its pack's name (chunks name their pack by number: see migration 3). */
const CHUNK_COLUMNS =
  'c.hash, c.kind, p.id AS pack, c.offset, c.stored_len AS storedLen, c.raw_len AS rawLen, c.codec, c.refs';
const CHUNKS = 'chunks c JOIN packs p ON p.seq = c.pack';

export class EngineDb {
  readonly db: Database.Database;
  private readonly s;
  private wal: FileHandle | undefined;
  /** The fdatasync under way, and the one queued behind it for the calls made meanwhile. */
  private syncing: Promise<void> | undefined;
  private nextSync: Promise<void> | undefined;
  private checkpointing = false;
  private lastCheckpoint = 0;
  private readonly checkpointer: ((file: string) => Promise<void>) | undefined;

  /**
   * `checkpointer` copies the write-ahead log into the database file on another thread (see
   * afterWrite); 'elsewhere': another connection to the file has one (a hash worker's connection).
   * Without either, SQLite checkpoints in the commit that fills 1000 pages of log.
   */
  constructor(
    readonly file: string,
    checkpointer?: ((file: string) => Promise<void>) | 'elsewhere',
  ) {
    this.db = new Database(file);
    this.db.pragma('journal_mode = WAL');
    // Commits are not flushed one by one; sync() flushes every commit so far, off the event loop,
    // where the engine needs it (see sync()).
    this.db.pragma('synchronous = NORMAL');
    // Two connections write (the event loop's and a hash worker's, see copy-checkpoint.ts): one
    // waits for the other's commit (a few ms) instead of failing.
    this.db.pragma('busy_timeout = 5000');
    if (checkpointer) this.db.pragma('wal_autocheckpoint = 0');
    this.checkpointer = checkpointer === 'elsewhere' ? undefined : checkpointer;
    applyMigrations(this.db, ENGINE_MIGRATIONS);
    const p = (sql: string) => this.db.prepare(sql);
    this.s = {
      volume: p(`SELECT ${VOLUME_COLUMNS} FROM volumes WHERE disk_id = ?`),
      volumes: p(`SELECT ${VOLUME_COLUMNS} FROM volumes`),
      insertVolume: p(
        'INSERT INTO volumes (disk_id, size_bytes, block_size, dirty_gen, base_snapshot, restore_snapshot, restore_root, restore_gen, created_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)',
      ),
      updateVolume: p(
        'UPDATE volumes SET size_bytes = ?, dirty_gen = ?, base_snapshot = ?, restore_snapshot = ?, restore_root = ?, restore_gen = ? WHERE disk_id = ?',
      ),
      deleteVolume: p('DELETE FROM volumes WHERE disk_id = ?'),
      snapshot: p(`SELECT ${SNAPSHOT_COLUMNS} FROM snapshots WHERE id = ?`),
      snapshotState: p('SELECT state FROM snapshots WHERE id = ?').pluck(),
      snapshots: p(`SELECT ${SNAPSHOT_COLUMNS} FROM snapshots`),
      snapshotsOfDisk: p(
        `SELECT ${SNAPSHOT_COLUMNS} FROM snapshots WHERE disk_id = ? AND state <> 'complete'`,
      ),
      childrenOf: p(`SELECT ${SNAPSHOT_COLUMNS} FROM snapshots WHERE parent_id = ? AND state <> 'complete'`),
      insertSnapshot: p(
        'INSERT INTO snapshots (id, disk_id, state, block_size, size_bytes, parent_id, parent_root, pending, root, data_bytes, added_bytes, created_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
      ),
      updateSnapshot: p(
        'UPDATE snapshots SET state = ?, parent_id = ?, parent_root = ?, pending = ?, root = ?, data_bytes = ?, added_bytes = ? WHERE id = ?',
      ),
      deleteSnapshot: p('DELETE FROM snapshots WHERE id = ?'),
      pages: p('SELECT page, hash FROM snapshot_pages WHERE snapshot_id = ? ORDER BY page'),
      insertPage: p('INSERT INTO snapshot_pages (snapshot_id, page, hash) VALUES (?, ?, ?)'),
      deletePages: p('DELETE FROM snapshot_pages WHERE snapshot_id = ?'),
      preserved: p('SELECT block, cow_offset AS cowOffset FROM preserved WHERE snapshot_id = ?'),
      insertPreserved: p('INSERT OR IGNORE INTO preserved (snapshot_id, block, cow_offset) VALUES (?, ?, ?)'),
      deletePreserved: p('DELETE FROM preserved WHERE snapshot_id = ?'),
      chunk: p(`SELECT ${CHUNK_COLUMNS} FROM ${CHUNKS} WHERE c.hash = ?`),
      chunks: p(
        `${BATCH_IDS} SELECT w.i, c.kind, p.id, c.offset, c.stored_len, c.raw_len, c.codec, c.refs ` +
          'FROM w CROSS JOIN chunks c ON c.hash = w.h JOIN packs p ON p.seq = c.pack',
      ).raw(),
      hasChunk: p('SELECT 1 FROM chunks WHERE hash = ?').pluck(),
      knownChunks: p(`${BATCH_IDS} SELECT w.i FROM w CROSS JOIN chunks c ON c.hash = w.h`).pluck(),
      insertChunk: p(
        'INSERT INTO chunks (hash, kind, pack, offset, stored_len, raw_len, codec, refs) VALUES (?, ?, (SELECT seq FROM packs WHERE id = ?), ?, ?, ?, ?, ?) ON CONFLICT (hash) DO NOTHING',
      ),
      addRefs: p('UPDATE chunks SET refs = refs + ? WHERE hash = ?'),
      addRefEach: p(
        `UPDATE chunks SET refs = refs + ? WHERE hash IN (${Array(KNOWN_BATCH).fill('?').join(', ')})`,
      ),
      insertUnsettled: p('INSERT OR IGNORE INTO unsettled_pages (hash) VALUES (?)'),
      deleteUnsettled: p('DELETE FROM unsettled_pages WHERE hash = ?'),
      isUnsettled: p('SELECT 1 FROM unsettled_pages WHERE hash = ?').pluck(),
      liveUnsettled: p(
        `SELECT ${CHUNK_COLUMNS} FROM unsettled_pages u JOIN chunks c ON c.hash = u.hash JOIN packs p ON p.seq = c.pack WHERE c.refs > 0 AND u.hash > ? ORDER BY u.hash LIMIT 512`,
      ),
      garbageOfKind: p(`SELECT ${CHUNK_COLUMNS} FROM ${CHUNKS} WHERE c.refs = 0 AND c.kind = ? LIMIT 512`),
      moveChunk: p(
        'UPDATE chunks SET pack = (SELECT seq FROM packs WHERE id = ?), offset = ? WHERE hash = ?',
      ),
      deleteChunk: p('DELETE FROM chunks WHERE hash = ?'),
      chunksInPack: p(
        `SELECT ${CHUNK_COLUMNS} FROM ${CHUNKS} WHERE c.pack = (SELECT seq FROM packs WHERE id = ?) ORDER BY c.offset`,
      ),
      insertPack: p('INSERT INTO packs (id, bytes, live_bytes, created_ms) VALUES (?, ?, ?, ?)'),
      packLive: p('UPDATE packs SET live_bytes = live_bytes + ? WHERE id = ?'),
      packs: p('SELECT id, bytes, live_bytes AS liveBytes FROM packs'),
      deletePack: p('DELETE FROM packs WHERE id = ?'),
      storedBytes: p('SELECT COALESCE(SUM(bytes), 0) FROM packs').pluck(),
    };
  }

  /**
   * Makes every transaction committed so far durable: an fdatasync of the write-ahead log, run on
   * the thread pool. With synchronous=NORMAL, SQLite's commits are atomic and ordered in the log;
   * flushing the log file is what synchronous=FULL would have done at each commit. SQLite itself
   * flushes the log before it checkpoints it into the database file.
   *
   * Concurrent callers share flushes: a call made while no flush runs starts one; calls made while
   * one runs cannot rely on it (their commits may have come after it started), so they all wait
   * for the one flush started as soon as it ends. Many jobs completing together thus cost two
   * fdatasyncs, not one each.
   */
  sync(): Promise<void> {
    this.afterWrite();
    if (this.syncing === undefined) {
      const flush = this.flushWal().finally(() => {
        if (this.syncing === flush) this.syncing = undefined;
      });
      this.syncing = flush;
      return flush;
    }
    this.nextSync ??= this.syncing
      .catch(() => undefined)
      .then(() => {
        this.nextSync = undefined;
        return this.sync();
      });
    return this.nextSync;
  }

  private async flushWal(): Promise<void> {
    if (!this.wal) {
      try {
        this.wal = await open(this.file + '-wal', 'r');
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') return; // nothing written yet
        throw error;
      }
    }
    await this.wal.datasync();
  }

  /**
   * Runs `fn` in a transaction that takes the write lock first (BEGIN IMMEDIATE): with another
   * connection writing, a transaction that read first could not take it afterwards, and would fail
   * at once instead of waiting.
   */
  transaction<T>(fn: () => T): T {
    const result = this.db.transaction(fn).immediate();
    this.afterWrite();
    return result;
  }

  /**
   * Has the log checkpointed, at most every CHECKPOINT_EVERY_MS while writes go on and one at a
   * time. In the commit, as SQLite does by default, a checkpoint stalled the event loop for its
   * copy and two flushes, and a snapshot copy's commits rewrote the same index pages many times
   * over; one every quarter second copies each page once for all the commits in between. A
   * failed checkpoint loses nothing (the log keeps every commit) and is tried again later.
   */
  private afterWrite(): void {
    if (!this.checkpointer || this.checkpointing || Date.now() - this.lastCheckpoint < CHECKPOINT_EVERY_MS)
      return;
    this.checkpointing = true;
    this.lastCheckpoint = Date.now();
    this.checkpointer(this.file)
      .catch(() => undefined)
      .finally(() => {
        this.checkpointing = false;
      });
  }

  /** Copies the write-ahead log into the database file (PASSIVE: writers go on meanwhile). */
  checkpointLog(): void {
    this.db.pragma('wal_checkpoint(PASSIVE)');
  }

  /** How this store computes chunk ids (see chunk-id.ts), as its index recorded at its making. */
  chunkIdAlgorithm(): ChunkIdAlgorithm {
    const value = this.db.prepare("SELECT value FROM settings WHERE key = 'chunk_id'").pluck().get();
    if (!isChunkIdAlgorithm(value))
      throw new Error(`engine.db names an unknown chunk id algorithm: ${String(value)}`);
    return value;
  }

  close(): void {
    void this.wal?.close();
    this.db.close();
  }

  volume(diskId: string): VolumeRow | undefined {
    return this.s.volume.get(diskId) as VolumeRow | undefined;
  }
  volumes(): VolumeRow[] {
    return this.s.volumes.all() as VolumeRow[];
  }
  insertVolume(v: VolumeRow): void {
    this.s.insertVolume.run(
      v.diskId,
      v.sizeBytes,
      v.blockSize,
      v.dirtyGen,
      v.baseSnapshot,
      v.restoreSnapshot,
      v.restoreRoot,
      v.restoreGen,
      Date.now(),
    );
  }
  updateVolume(v: VolumeRow): void {
    this.s.updateVolume.run(
      v.sizeBytes,
      v.dirtyGen,
      v.baseSnapshot,
      v.restoreSnapshot,
      v.restoreRoot,
      v.restoreGen,
      v.diskId,
    );
  }
  deleteVolume(diskId: string): void {
    this.s.deleteVolume.run(diskId);
  }

  snapshot(id: string): SnapshotRow | undefined {
    return this.s.snapshot.get(id) as SnapshotRow | undefined;
  }
  /** The snapshot's state alone (no row, no blobs), or undefined when there is no such snapshot. */
  snapshotState(id: string): SnapshotState | undefined {
    return this.s.snapshotState.get(id) as SnapshotState | undefined;
  }
  snapshots(): SnapshotRow[] {
    return this.s.snapshots.all() as SnapshotRow[];
  }
  /** Snapshots of the disk still being copied. */
  pendingSnapshotsOf(diskId: string): SnapshotRow[] {
    return this.s.snapshotsOfDisk.all(diskId) as SnapshotRow[];
  }
  pendingChildrenOf(id: string): SnapshotRow[] {
    return this.s.childrenOf.all(id) as SnapshotRow[];
  }
  insertSnapshot(r: SnapshotRow): void {
    this.s.insertSnapshot.run(
      r.id,
      r.diskId,
      r.state,
      r.blockSize,
      r.sizeBytes,
      r.parentId,
      r.parentRoot,
      r.pending,
      r.root,
      r.dataBytes,
      r.addedBytes,
      Date.now(),
    );
  }
  updateSnapshot(r: SnapshotRow): void {
    this.s.updateSnapshot.run(
      r.state,
      r.parentId,
      r.parentRoot,
      r.pending,
      r.root,
      r.dataBytes,
      r.addedBytes,
      r.id,
    );
  }
  deleteSnapshot(id: string): void {
    this.s.deleteSnapshot.run(id);
  }

  /** The pages a copy has checkpointed; a null hash is a page that became empty. */
  checkpointedPages(snapshotId: string): { page: number; hash: Buffer | null }[] {
    return this.s.pages.all(snapshotId) as { page: number; hash: Buffer | null }[];
  }
  insertCheckpointedPage(snapshotId: string, page: number, hash: Buffer | null): void {
    this.s.insertPage.run(snapshotId, page, hash);
  }
  deleteCheckpointedPages(snapshotId: string): void {
    this.s.deletePages.run(snapshotId);
  }

  preserved(snapshotId: string): { block: number; cowOffset: number }[] {
    return this.s.preserved.all(snapshotId) as { block: number; cowOffset: number }[];
  }
  insertPreserved(snapshotId: string, block: number, cowOffset: number): void {
    this.s.insertPreserved.run(snapshotId, block, cowOffset);
  }
  deletePreserved(snapshotId: string): void {
    this.s.deletePreserved.run(snapshotId);
  }

  chunk(hash: Buffer): ChunkRow | undefined {
    return this.s.chunk.get(hash) as ChunkRow | undefined;
  }
  /** The rows of those of these chunks that are in the index (one per id given), a query per 128. */
  chunks(hashes: Buffer[]): ChunkRow[] {
    const out: ChunkRow[] = [];
    for (const { batch, used } of idBatches(hashes)) {
      for (const [at, kind, pack, offset, storedLen, rawLen, codec, refs] of this.s.chunks.all(...batch) as [
        number,
        number,
        string,
        number,
        number,
        number,
        number,
        number,
      ][]) {
        if (at < used)
          out.push({ hash: batch[at] as Buffer, kind, pack, offset, storedLen, rawLen, codec, refs });
      }
    }
    return out;
  }
  hasChunk(hash: Buffer): boolean {
    return this.s.hasChunk.get(hash) !== undefined;
  }
  /** Which of these chunks are in the index (as latin1 strings of their ids), in a few queries. */
  knownChunks(hashes: Buffer[]): Set<string> {
    const out = new Set<string>();
    // An unused slot repeats an id given: adding it again changes nothing.
    for (const { batch } of idBatches(hashes)) {
      for (const at of this.s.knownChunks.all(...batch) as number[]) {
        out.add((batch[at] as Buffer).toString('latin1'));
      }
    }
    return out;
  }

  /** Enters a new chunk with `refs` holders (its pack entered first); false if it was there already. */
  insertChunk(c: Omit<ChunkRow, 'refs'>, refs: number): boolean {
    return (
      this.s.insertChunk.run(c.hash, c.kind, c.pack, c.offset, c.storedLen, c.rawLen, c.codec, refs).changes >
      0
    );
  }
  addRefs(hash: Buffer, delta: number): void {
    this.s.addRefs.run(delta, hash);
  }

  /** Adds `delta` holders to each of these distinct chunks, a statement per 128. */
  addRefEach(hashes: Buffer[], delta: number): void {
    // An unused slot repeats an id given: IN is a set, so it is still counted once.
    for (const { batch } of idBatches(hashes)) this.s.addRefEach.run(delta, ...batch);
  }

  /** A new page whose entries' holds are not counted yet (see the top of this file). */
  addUnsettled(hash: Buffer): void {
    this.s.insertUnsettled.run(hash);
  }
  /** Whether a page's entries are still not counted. */
  isUnsettled(hash: Buffer): boolean {
    return this.s.isUnsettled.get(hash) !== undefined;
  }
  settled(hash: Buffer): void {
    this.s.deleteUnsettled.run(hash);
  }
  /** Unsettled pages that something holds, up to 512, in id order from after `after`. */
  liveUnsettled(after: Buffer): ChunkRow[] {
    return this.s.liveUnsettled.all(after) as ChunkRow[];
  }
  moveChunk(hash: Buffer, pack: string, offset: number): void {
    this.s.moveChunk.run(pack, offset, hash);
  }
  /** Objects of this kind that nothing holds, up to 512. */
  garbage(kind: number): ChunkRow[] {
    return this.s.garbageOfKind.all(kind) as ChunkRow[];
  }
  deleteChunk(hash: Buffer): void {
    this.s.deleteChunk.run(hash);
  }
  chunksInPack(pack: string): ChunkRow[] {
    return this.s.chunksInPack.all(pack) as ChunkRow[];
  }

  insertPack(id: string, bytes: number, liveBytes: number): void {
    this.s.insertPack.run(id, bytes, liveBytes, Date.now());
  }
  addPackLive(id: string, delta: number): void {
    this.s.packLive.run(delta, id);
  }
  packs(): { id: string; bytes: number; liveBytes: number }[] {
    return this.s.packs.all() as { id: string; bytes: number; liveBytes: number }[];
  }
  deletePack(id: string): void {
    this.s.deletePack.run(id);
  }
  storedBytes(): number {
    return this.s.storedBytes.get() as number;
  }
}
