// The local object store writes an object's pieces as they come: those in aligned memory with
// direct I/O, the last one padded and the file cut to its exact length; others through the page
// cache. (Its fallback for a file system that refuses direct I/O is not exercised here: tmpfs, the
// usual one, takes it since Linux 6.6.)
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

/** Writes `content` as pieces of `piece` bytes, each in aligned memory (the last one shorter). */
async function writeAligned(store: LocalDirectoryStore, key: string, content: Buffer, piece: number) {
  const writer = store.create(key);
  const written: Promise<void>[] = [];
  for (let at = 0; at < content.length; at += piece) {
    const part = alignedBuffer(piece).subarray(0, piece);
    const n = content.copy(part, 0, at);
    assert.ok(
      directWritable(part.subarray(0, n), Math.ceil(n / 4096) * 4096),
      'a piece can be written direct',
    );
    written.push(writer.append(part.subarray(0, n)));
  }
  await Promise.all(written);
  assert.deepEqual(await store.list('packs'), [], 'nothing is visible before the commit');
  await writer.commit();
}

/**
 * Writes an object of `length` bytes from aligned pieces, and one from two pieces of ordinary
 * memory; checks both.
 */
async function writeAndCheck(store: LocalDirectoryStore, length: number): Promise<void> {
  const content = randomBytes(length);
  await writeAligned(store, 'packs/aa/one.pack', content, 8192);
  const file = path.join(store.root, 'packs/aa/one.pack');
  assert.equal((await stat(file)).size, length, 'cut back to its exact length');
  assert.ok((await readFile(file)).equals(content));
  assert.ok((await store.read('packs/aa/one.pack', 100, 5000)).equals(content.subarray(100, 5100)));
  const plain = store.create('packs/bb/two.pack');
  await Promise.all([plain.append(content.subarray(0, 7)), plain.append(content.subarray(7))]);
  await plain.commit();
  assert.ok((await readFile(path.join(store.root, 'packs/bb/two.pack'))).equals(content));
  // An aligned piece, then ordinary memory: one file, written both ways.
  const mixed = store.create('packs/cc/three.pack');
  const first = alignedBuffer(8192).subarray(0, 8192);
  content.copy(first, 0, 0, 8192);
  await Promise.all([mixed.append(first), mixed.append(content.subarray(8192))]);
  await mixed.commit();
  assert.ok((await readFile(path.join(store.root, 'packs/cc/three.pack'))).equals(content));
  assert.deepEqual(await store.list('tmp'), [], 'no temporary file is left behind');
  await store.close();
}

describe('local object store', () => {
  after(async () => {
    for (const dir of dirs) await rm(dir, { recursive: true, force: true });
  });

  it('writes an object from aligned pieces past the page cache, exactly as long as it is', async () => {
    await writeAndCheck(await storeIn(tmpdir()), 30_000);
  });

  it('writes the same on a tmpfs', async (t) => {
    if (!existsSync('/dev/shm')) return t.skip('no /dev/shm (tmpfs) on this machine');
    await writeAndCheck(await storeIn('/dev/shm'), 12_345);
  });

  it('leaves nothing of an object aborted, and takes no piece after the last', async () => {
    const store = await storeIn(tmpdir());
    const writer = store.create('packs/dd/four.pack');
    const part = alignedBuffer(8192);
    await writer.append(part);
    await writer.append(part.subarray(0, 100));
    assert.throws(() => writer.append(part), /no part may follow the last one/);
    await writer.abort();
    assert.deepEqual(await store.list(''), [], 'neither the object nor its temporary file');
    await store.close();
  });

  it('says which buffers direct I/O can write', () => {
    const buffer = alignedBuffer(8192);
    assert.equal(directWritable(buffer), true);
    assert.equal(directWritable(buffer.subarray(512)), false, 'not at a page boundary');
    assert.equal(directWritable(Buffer.alloc(8192)), false, 'ordinary memory');
  });
});
