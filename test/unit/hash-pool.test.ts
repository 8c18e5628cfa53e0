// The hash workers take a buffer either in shared memory (used where it is: the pooled buffers of
// copies and restores) or as an ArrayBuffer transferred there and back; both give the same hashes.
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { after, describe, it } from 'node:test';
import { sharedBuffer } from '../../src/storage/engine/buffer-pool.js';
import { HashPool } from '../../src/storage/engine/hash-pool.js';

const BLOCK = 16 * 1024;
const sha256 = (data: Uint8Array) => createHash('sha256').update(data).digest();

describe('hash workers', () => {
  const pool = new HashPool(2);
  after(() => pool.close());

  it('hash shared memory where it is, and transferred memory that comes back', async () => {
    const content = Buffer.concat([randomBytes(BLOCK), Buffer.alloc(BLOCK), randomBytes(BLOCK)]);
    const shared = sharedBuffer(4 * BLOCK).subarray(0, content.length);
    content.copy(shared);
    const own = Buffer.from(new ArrayBuffer(content.length));
    content.copy(own);
    for (const [what, data] of [
      ['shared', shared],
      ['transferred', own],
    ] as const) {
      const hashed = await pool.hashBlocks(data, BLOCK);
      assert.ok(hashed.data.equals(content), `${what}: the bytes are handed back as they were`);
      assert.deepEqual(
        hashed.hashes,
        [sha256(content.subarray(0, BLOCK)), null, sha256(content.subarray(2 * BLOCK))],
        `${what}: each block's hash, none for the zero block`,
      );
    }
    // Shared memory never left: the caller's view is the one handed back, still usable.
    const again = await pool.hashBlocks(shared, BLOCK);
    assert.equal(again.data, shared);
    assert.equal(shared.length, content.length);
    // Transferred memory did leave: the caller's view was detached.
    assert.equal(own.length, 0);
  });

  it('hash given ranges of shared memory that does not start the buffer', async () => {
    const backing = sharedBuffer(64 * 1024);
    const view = backing.subarray(4096, 4096 + 3000);
    randomBytes(3000).copy(view);
    const { hashes } = await pool.hashRanges(view, [
      [0, 1000],
      [1000, 2000],
    ]);
    assert.deepEqual(hashes, [sha256(view.subarray(0, 1000)), sha256(view.subarray(1000, 3000))]);
  });
});
