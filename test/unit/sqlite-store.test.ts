// The group commit: a batch of writes a crash may lose commits without its own fsync, and every
// other batch (and every batch after it) still commits with synchronous=FULL.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { openStore, runBatch } from '../../src/storage/sqlite/sqlite-store.js';

const FULL = 2;

describe('group commit durability', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'ensnap-store-'));
  const store = openStore(path.join(dir, 'ensnap.db'));
  after(() => {
    store.db.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const synchronous = () => store.db.pragma('synchronous', { simple: true });

  it('commits a claim-only batch, then is back to synchronous=FULL', () => {
    const now = Date.now();
    const outcomes = runBatch(store, [['claimJobs', [now, now + 60_000, 4]]]);
    assert.deepEqual(outcomes, [[true, []]]);
    assert.equal(synchronous(), FULL);
  });

  it('keeps synchronous=FULL for a batch that mixes in a durable write, and after a failed one', () => {
    const now = Date.now();
    const outcomes = runBatch(store, [
      ['expediteJob', [1, now]],
      ['markSnapshotError', ['s-none', 'a durable write']],
    ]);
    assert.equal(outcomes.length, 2);
    assert.ok(outcomes.every(([ok]) => ok));
    assert.equal(synchronous(), FULL);
    // A write that throws rolls back only itself; the batch of "unflushed" writes still restores FULL.
    const failed = runBatch(store, [['setSnapshotProgress', [{ not: 'bindable' }, 5]]]);
    assert.equal(failed[0]?.[0], false, 'the write failed');
    assert.equal(synchronous(), FULL);
  });
});
