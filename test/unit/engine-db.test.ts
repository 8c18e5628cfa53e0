// The engine index's write-ahead log is checkpointed on a hash worker, not in the commits.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { EngineDb } from '../../src/storage/engine/engine-db.js';
import { HashPool } from '../../src/storage/engine/hash-pool.js';

/** Enters `count` data chunks of a pack in one transaction. */
function enterChunks(db: EngineDb, count: number): void {
  db.transaction(() => {
    for (let i = 0; i < count; i++) {
      const chunk = {
        hash: randomBytes(32),
        kind: 0,
        pack: 'p1',
        offset: i,
        storedLen: 1,
        rawLen: 1,
        codec: 0,
      };
      db.insertChunk(chunk, 1);
    }
  });
}

describe('engine index checkpoints', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'ensnap-engine-db-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('commits leave the checkpoint to the worker, at most one per quarter second', async () => {
    const file = path.join(dir, 'engine.db');
    const pool = new HashPool(1);
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
});
