// The engine index: its write-ahead log is checkpointed on a hash worker, not in the commits, and
// so are a snapshot copy's checkpoints; its migrations keep what an older index holds.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import Database from 'better-sqlite3';
import { ChunkKind } from '../../src/storage/engine/chunk-store.js';
import type { CopyCheckpoint } from '../../src/storage/engine/copy-checkpoint.js';
import { ENGINE_MIGRATIONS, EngineDb } from '../../src/storage/engine/engine-db.js';
import { HashPool } from '../../src/storage/engine/hash-pool.js';
import { encodeRoot } from '../../src/storage/engine/manifest.js';
import { applyMigrations } from '../../src/storage/sqlite/migrate.js';

/** Enters `count` data chunks of a pack in one transaction. */
function enterChunks(db: EngineDb, count: number): void {
  const pack = randomBytes(16).toString('hex');
  db.transaction(() => {
    db.insertPack(pack, count, count);
    for (let i = 0; i < count; i++) {
      const chunk = {
        hash: randomBytes(32),
        kind: 0,
        pack,
        offset: i,
        storedLen: 1,
        rawLen: 1,
        codec: 0,
      };
      db.insertChunk(chunk, 1);
    }
  });
}

let dir: string;
before(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'ensnap-engine-db-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('engine index checkpoints', () => {
  it('commits leave the checkpoint to the worker, at most one per quarter second', async () => {
    const file = path.join(dir, 'engine.db');
    const pool = new HashPool('blake3', 1);
    const started: Promise<void>[] = [];
    const db = new EngineDb(file, (f) => {
      const run = pool.checkpoint(f);
      started.push(run);
      return run;
    });
    try {
      assert.equal(db.db.pragma('wal_autocheckpoint', { simple: true }), 0);
      const sizeBefore = (await stat(file)).size;
      // Far past SQLite's default of a checkpoint per 1000 pages of log, in quick commits.
      const t0 = performance.now();
      for (let i = 0; i < 20; i++) enterChunks(db, 500);
      const elapsed = performance.now() - t0;
      assert.ok(started.length >= 1, 'the commits asked for a checkpoint');
      assert.ok(
        started.length <= 1 + Math.floor(elapsed / 250),
        `at most one checkpoint per quarter second: ${started.length} in ${elapsed.toFixed(0)} ms`,
      );
      await Promise.all(started);
      const asked = started.length;
      await sleep(300);
      enterChunks(db, 10);
      assert.equal(started.length, asked + 1, 'the next commit after a quarter second asks again');
      await Promise.all(started);
      // The rows reached the database file itself: another thread copied the log into it.
      assert.ok((await stat(file)).size > sizeBefore + 500_000, 'the database file grew by the checkpoint');
      assert.equal(db.db.prepare('SELECT COUNT(*) FROM chunks').pluck().get(), 10_010);
    } finally {
      await pool.close();
      db.close();
    }
  });

  it('without a checkpointer, SQLite checkpoints in the commits as usual', async () => {
    const db = new EngineDb(path.join(dir, 'plain.db'));
    try {
      assert.equal(db.db.pragma('wal_autocheckpoint', { simple: true }), 1000);
    } finally {
      db.close();
    }
  });

  it('migration 3 keeps every chunk and pack of an index made before it, pack names and all', () => {
    const file = path.join(dir, 'v2.db');
    const old = new Database(file);
    applyMigrations(
      old,
      ENGINE_MIGRATIONS.filter((m) => m.version <= 2),
    );
    const insertPack = old.prepare(
      'INSERT INTO packs (id, bytes, live_bytes, created_ms) VALUES (?, ?, ?, ?)',
    );
    const insertChunk = old.prepare(
      'INSERT INTO chunks (hash, kind, pack, offset, stored_len, raw_len, codec, refs) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
    );
    const hashes = Array.from({ length: 6 }, () => randomBytes(32));
    insertPack.run('pack-b', 300, 200, 2);
    insertPack.run('pack-a', 100, 90, 1);
    // Chunks of pack-a, out of offset order, one of pack-b, and one naming a pack with no row.
    insertChunk.run(hashes[0], 0, 'pack-a', 64, 10, 20, 1, 1);
    insertChunk.run(hashes[1], 0, 'pack-a', 16, 10, 10, 0, 0);
    insertChunk.run(hashes[2], 1, 'pack-b', 16, 30, 30, 0, 2);
    insertChunk.run(hashes[3], 0, 'pack-gone', 16, 5, 5, 0, 1);
    old.close();

    const db = new EngineDb(file);
    try {
      assert.equal(db.chunkIdAlgorithm(), 'sha256', 'a store that holds chunks keeps their ids');
      assert.deepEqual(db.chunk(hashes[0] as Buffer), {
        hash: hashes[0],
        kind: 0,
        pack: 'pack-a',
        offset: 64,
        storedLen: 10,
        rawLen: 20,
        codec: 1,
        refs: 1,
      });
      assert.deepEqual(
        db.chunksInPack('pack-a').map((row) => row.offset),
        [16, 64],
      );
      assert.equal(db.chunk(hashes[2] as Buffer)?.pack, 'pack-b');
      assert.equal(db.chunk(hashes[3] as Buffer)?.pack, 'pack-gone', 'a chunk whose pack had no row is kept');
      assert.deepEqual(
        db.garbage(0).map((row) => row.hash),
        [hashes[1]],
      );
      assert.deepEqual(
        db.packs().sort((a, b) => (a.id < b.id ? -1 : 1)),
        [
          { id: 'pack-a', bytes: 100, liveBytes: 90 },
          { id: 'pack-b', bytes: 300, liveBytes: 200 },
          { id: 'pack-gone', bytes: 0, liveBytes: 0 },
        ],
      );
      // New chunks go in as before, and name their pack.
      db.transaction(() => {
        db.insertPack('pack-c', 50, 0);
        const chunk = {
          hash: hashes[4] as Buffer,
          kind: 0,
          pack: 'pack-c',
          offset: 16,
          storedLen: 5,
          rawLen: 5,
          codec: 0,
        };
        assert.equal(db.insertChunk(chunk, 0), true);
        assert.equal(
          db.insertChunk({ ...chunk, hash: hashes[0] as Buffer }, 0),
          false,
          'a known chunk is not new',
        );
      });
      assert.equal(db.chunk(hashes[4] as Buffer)?.pack, 'pack-c');
      db.moveChunk(hashes[4] as Buffer, 'pack-b', 80);
      assert.deepEqual(
        db.chunksInPack('pack-b').map((row) => row.offset),
        [16, 80],
      );
      // A chunk cannot name a pack the index does not have.
      assert.throws(() =>
        db.insertChunk(
          {
            hash: hashes[5] as Buffer,
            kind: 0,
            pack: 'pack-none',
            offset: 16,
            storedLen: 5,
            rawLen: 5,
            codec: 0,
          },
          0,
        ),
      );
    } finally {
      db.close();
    }
  });
});

describe('engine index chunk id algorithm', () => {
  /** What the index at `file` says, opened (and migrated) for the call. */
  function withIndex<T>(file: string, use: (db: EngineDb) => T): T {
    const db = new EngineDb(file);
    try {
      return use(db);
    } finally {
      db.close();
    }
  }

  it('is BLAKE3 for a new index and for one that holds no chunk yet, and stays what it was', () => {
    assert.equal(
      withIndex(path.join(dir, 'fresh.db'), (db) => db.chunkIdAlgorithm()),
      'blake3',
    );
    const file = path.join(dir, 'v3-empty.db');
    const old = new Database(file);
    applyMigrations(
      old,
      ENGINE_MIGRATIONS.filter((m) => m.version <= 3),
    );
    old.close();
    withIndex(file, (db) => {
      assert.equal(db.chunkIdAlgorithm(), 'blake3');
      enterChunks(db, 3);
    });
    assert.equal(
      withIndex(file, (db) => db.chunkIdAlgorithm()),
      'blake3',
      'decided once',
    );
  });
});

describe('engine index lookups of many chunks', () => {
  it('find every id given, in batches of any size, with duplicates and ids not there', () => {
    const db = new EngineDb(path.join(dir, 'lookups.db'));
    try {
      // 300 chunks in two packs, each with its own figures, so that a row given the wrong id shows.
      const entered = new Map<string, { pack: string; offset: number; storedLen: number; codec: number }>();
      for (const count of [170, 130]) {
        const pack = randomBytes(16).toString('hex');
        db.transaction(() => {
          db.insertPack(pack, count, count);
          for (let i = 0; i < count; i++) {
            const hash = randomBytes(32);
            const figures = { pack, offset: 16 + i * 100, storedLen: 1 + i, codec: i % 3 };
            db.insertChunk({ hash, kind: 0, rawLen: 1 + i, ...figures }, 1);
            entered.set(hash.toString('latin1'), figures);
          }
        });
      }
      const present = [...entered.keys()].map((key) => Buffer.from(key, 'latin1'));
      const absent = Array.from({ length: 7 }, () => randomBytes(32));
      for (const size of [1, 127, 128, 129, 300]) {
        // Ids not there and duplicates mixed in, in no particular order.
        const given = [...present.slice(0, size), ...absent, ...present.slice(0, 3)].sort(
          () => Math.random() - 0.5,
        );
        const rows = db.chunks(given);
        const expected = given.filter((hash) => entered.has(hash.toString('latin1')));
        assert.equal(rows.length, expected.length, `${size}: one row per id given that is there`);
        for (const row of rows) {
          const figures = entered.get(row.hash.toString('latin1'));
          assert.ok(figures, `${size}: a row for an id given`);
          assert.deepEqual(
            {
              pack: row.pack,
              offset: row.offset,
              storedLen: row.storedLen,
              codec: row.codec,
              rawLen: row.rawLen,
            },
            { ...figures, rawLen: figures.storedLen },
            `${size}: each row's figures are its own chunk's`,
          );
        }
        const known = db.knownChunks(given);
        assert.deepEqual(
          [...known].sort(),
          [...new Set(expected.map((hash) => hash.toString('latin1')))].sort(),
          `${size}: known are exactly the ids there`,
        );
      }
    } finally {
      db.close();
    }
  });
});

describe('copy checkpoints committed on a hash worker', () => {
  it('enter the pack, its pages and the bytes added; and nothing once the snapshot is gone', async () => {
    const file = path.join(dir, 'copy-checkpoints.db');
    const pool = new HashPool('blake3', 2);
    const db = new EngineDb(file, (f) => pool.checkpoint(f));
    try {
      db.insertSnapshot({
        id: 's-1',
        diskId: 'd-1',
        state: 'copying',
        blockSize: 16384,
        sizeBytes: 1 << 30,
        parentId: null,
        parentRoot: null,
        pending: null,
        root: null,
        dataBytes: 0,
        addedBytes: 100,
      });
      const data = randomBytes(32);
      const page = randomBytes(32);
      const root = randomBytes(32);
      const rootBytes = encodeRoot({ blockSize: 16384, sizeBytes: 1 << 30, pages: new Map([[3, page]]) });
      const pack = randomBytes(16).toString('hex');
      /** What the index is to hold of a chunk, besides its id and holds. */
      const figures = (kind: ChunkKind, offset: number) => ({
        kind,
        pack,
        offset,
        storedLen: 1000 + offset,
        rawLen: 2000 + offset,
        codec: kind === ChunkKind.Data ? 1 : 0,
      });
      const chunk = (hash: Buffer, kind: ChunkKind, offset: number) => ({ hash, ...figures(kind, offset) });
      const checkpoint: CopyCheckpoint = {
        snapshotId: 's-1',
        flushed: {
          packId: pack,
          bytes: 5000,
          chunks: [
            chunk(data, ChunkKind.Data, 64),
            chunk(page, ChunkKind.Page, 2000),
            { ...chunk(root, ChunkKind.Root, 4000), data: rootBytes },
          ],
        },
        pages: [
          { page: 3, hash: page },
          { page: 4, hash: null },
        ],
      };
      await pool.commitCheckpoint(file, checkpoint);
      // Read on this thread's connection: the worker's commit is there.
      const row = (hash: Buffer) => {
        const found = db.chunk(hash);
        assert.ok(found, 'the chunk is in the index');
        const { refs, pack: at, offset, storedLen, rawLen, codec, kind } = found;
        return { refs, pack: at, offset, storedLen, rawLen, codec, kind };
      };
      assert.deepEqual(row(data), { ...figures(ChunkKind.Data, 64), refs: 0 });
      // The page: held by the root and by the checkpoint, and unsettled.
      assert.deepEqual(row(page), { ...figures(ChunkKind.Page, 2000), refs: 2 });
      assert.equal(db.isUnsettled(page), true);
      assert.deepEqual(row(root), { ...figures(ChunkKind.Root, 4000), refs: 0 });
      assert.deepEqual(
        db.checkpointedPages('s-1').map((p) => ({ page: p.page, hash: p.hash?.toString('hex') ?? null })),
        [
          { page: 3, hash: page.toString('hex') },
          { page: 4, hash: null },
        ],
      );
      assert.equal(db.snapshot('s-1')?.addedBytes, 5100);
      assert.deepEqual(db.packs(), [{ id: pack, bytes: 5000, liveBytes: 3 * 48 + 1064 + 3000 + 5000 }]);

      // The snapshot's copy was given up meanwhile: the next checkpoint fails and enters nothing.
      db.transaction(() => db.deleteSnapshot('s-1'));
      const other = randomBytes(16).toString('hex');
      await assert.rejects(
        pool.commitCheckpoint(file, {
          snapshotId: 's-1',
          flushed: {
            packId: other,
            bytes: 10,
            chunks: [{ ...chunk(randomBytes(32), ChunkKind.Data, 16), pack: other }],
          },
          pages: [{ page: 5, hash: page }],
        }),
        /no longer being copied/,
      );
      assert.equal(db.packs().length, 1, 'no pack entered');
      assert.equal(db.db.prepare('SELECT COUNT(*) FROM chunks').pluck().get(), 3, 'no chunk entered');
      assert.equal(row(page).refs, 2, 'no hold taken');
    } finally {
      await pool.close();
      db.close();
    }
  });
});
