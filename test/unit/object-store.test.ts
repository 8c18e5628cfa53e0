// The local object store writes a pack in one aligned buffer with direct I/O, cut to its exact
// length, and any other object through the page cache. (Its fallback for a file system that
// refuses direct I/O is not exercised here: tmpfs, the usual one, takes it since Linux 6.6.)
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { alignedBuffer, directWritable } from '../../src/storage/engine/direct-writer.js';
import { LocalDirectoryStore } from '../../src/storage/engine/object-store.js';

const dirs: string[] = [];

async function storeIn(parent: string): Promise<LocalDirectoryStore> {
  const dir = await mkdtemp(path.join(parent, 'ensnap-objects-'));
  dirs.push(dir);
  const store = new LocalDirectoryStore(dir);
  await store.init();
  return store;
}

/** Puts an object of `length` bytes from an aligned buffer and one of two parts; checks both. */
async function putAndCheck(store: LocalDirectoryStore, length: number): Promise<void> {
  const buffer = alignedBuffer(length);
  assert.ok(directWritable(buffer.subarray(0, length)), 'an aligned buffer can be written direct');
  const content = randomBytes(length);
  content.copy(buffer);
  await store.put('packs/aa/one.pack', [buffer.subarray(0, length)]);
  const file = path.join(store.root, 'packs/aa/one.pack');
  assert.equal((await stat(file)).size, length, 'cut back to its exact length');
  assert.ok((await readFile(file)).equals(content));
  assert.ok((await store.read('packs/aa/one.pack', 100, 5000)).equals(content.subarray(100, 5100)));
  await store.put('packs/bb/two.pack', [content.subarray(0, 7), content.subarray(7)]);
  assert.ok((await readFile(path.join(store.root, 'packs/bb/two.pack'))).equals(content));
  assert.deepEqual(await store.list('tmp'), [], 'no temporary file is left behind');
  await store.close();
}

describe('local object store', () => {
  after(async () => {
    for (const dir of dirs) await rm(dir, { recursive: true, force: true });
  });

  it('writes an object in an aligned buffer past the page cache, exactly as long as it is', async () => {
    await putAndCheck(await storeIn(tmpdir()), 10_000);
  });

  it('writes the same on a tmpfs', async (t) => {
    if (!existsSync('/dev/shm')) return t.skip('no /dev/shm (tmpfs) on this machine');
    await putAndCheck(await storeIn('/dev/shm'), 12_345);
  });

  it('says which buffers direct I/O can write', () => {
    const buffer = alignedBuffer(8192);
    assert.equal(directWritable(buffer), true);
    assert.equal(directWritable(buffer.subarray(512)), false, 'not at a page boundary');
    assert.equal(directWritable(Buffer.alloc(8192)), false, 'ordinary memory');
  });
});
