// The block engine on real files: snapshots are point-in-time, incremental and deduplicated,
// restores are byte-identical, deletes reclaim only what nothing else holds, verify finds damage.
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { EngineNotReady } from '../../src/domain/ports.js';
import { BlockStore } from '../../src/storage/engine/block-store.js';
import {
  ChunkKind,
  Codec,
  PACK_TARGET_BYTES,
  packKey,
  partIds,
  RECORD_MAGIC,
} from '../../src/storage/engine/chunk-store.js';
import { chunkIdFunction } from '../../src/storage/engine/chunk-id.js';
import { decodePage } from '../../src/storage/engine/manifest.js';

const BS = 16 * 1024;
const MiB = 1024 * 1024;
const never = new AbortController().signal;
const noProgress = async () => undefined;

/** The id the store gives these bytes (its chunk id algorithm). */
const chunkId = (store: BlockStore, data: Buffer): Buffer =>
  chunkIdFunction(store.db.chunkIdAlgorithm())(data);

async function readAll(store: BlockStore, snapshotId: string, size: number): Promise<Buffer> {
  return store.readSnapshot(snapshotId, 0, size);
}

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/** A complete snapshot of a disk of random bytes, the disk deleted since; returns its content. */
async function snapshotOfDeletedDisk(store: BlockStore, snapshotId: string, size: number): Promise<Buffer> {
  const diskId = `d-of-${snapshotId}`;
  await store.createVolume(diskId, size);
  const content = randomBytes(size);
  await store.writeVolume(diskId, 0, content);
  await store.beginSnapshot(snapshotId, diskId);
  await store.copySnapshot(snapshotId, noProgress, never);
  await store.deleteVolume(diskId);
  return content;
}

/**
 * After a collection: nothing unheld is left, no held page is unsettled, and each data chunk's
 * count is exactly the number of entries naming it in the held pages.
 */
async function assertCountsMatchManifests(store: BlockStore): Promise<void> {
  const rows = store.db.db
    .prepare(
      'SELECT c.hash, c.kind, c.codec, p.id AS pack, c.offset, c.stored_len AS storedLen, c.refs FROM chunks c JOIN packs p ON p.seq = c.pack',
    )
    .all() as {
    hash: Buffer;
    kind: number;
    codec: number;
    pack: string;
    offset: number;
    storedLen: number;
    refs: number;
  }[];
  const unsettled = store.db.db.prepare('SELECT count(*) FROM unsettled_pages').pluck().get();
  assert.equal(unsettled, 0, 'every page is settled');
  const expected = new Map<string, number>();
  for (const row of rows) {
    assert.ok(row.refs > 0, `chunk ${row.hash.toString('hex')} (kind ${row.kind}) is held`);
    if (row.kind !== ChunkKind.Page) continue;
    const page = decodePage(await store.objectStore.read(packKey(row.pack), row.offset, row.storedLen));
    for (const hash of page.values()) {
      const key = hash.toString('hex');
      expected.set(key, (expected.get(key) ?? 0) + 1);
    }
  }
  for (const row of rows)
    if (row.kind === ChunkKind.Data)
      assert.equal(row.refs, expected.get(row.hash.toString('hex')) ?? 0, 'count of a data chunk');
  // A sector is held once by each block stored as its parts naming it.
  const bySectors = new Map<string, number>();
  for (const row of rows) {
    if (row.kind !== ChunkKind.Data || row.codec !== Codec.Parts) continue;
    for (const id of partIds(await store.objectStore.read(packKey(row.pack), row.offset, row.storedLen)))
      bySectors.set(id.toString('hex'), (bySectors.get(id.toString('hex')) ?? 0) + 1);
  }
  for (const row of rows)
    if (row.kind === ChunkKind.Sector)
      assert.equal(row.refs, bySectors.get(row.hash.toString('hex')) ?? 0, 'count of a sector');
}

describe('block store', () => {
  let dir: string;
  let store: BlockStore;
  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'ensnap-engine-'));
    store = new BlockStore({ dataDir: dir });
    await store.open();
  });
  after(async () => {
    await store.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('takes a full then an incremental snapshot, each frozen at its point in time', async () => {
    const size = 8 * MiB;
    await store.createVolume('d-a', size);
    const image = Buffer.alloc(size);
    randomBytes(3 * MiB).copy(image, MiB);
    Buffer.alloc(MiB, 'text block ').copy(image, 5 * MiB);
    await store.writeVolume('d-a', 0, image);

    await store.beginSnapshot('s-1', 'd-a');
    // A write after the snapshot began, before its copy: must not appear in s-1.
    const late = randomBytes(BS * 3);
    await store.writeVolume('d-a', MiB + 100, late);
    await store.copySnapshot('s-1', noProgress, never);
    assert.equal(sha(await readAll(store, 's-1', size)), sha(image));
    const afterFirst = store.storedBytes();
    assert.ok(afterFirst < 3.3 * MiB, `stored ${afterFirst}`);

    late.copy(image, MiB + 100);
    await store.beginSnapshot('s-2', 'd-a');
    await store.copySnapshot('s-2', noProgress, never);
    assert.equal(sha(await readAll(store, 's-2', size)), sha(image));
    const added = store.storedBytes() - afterFirst;
    assert.ok(added < 8 * BS, `incremental added ${added} bytes`);
    assert.equal(sha(await store.readVolume('d-a', 0, size)), sha(image));
  });

  it('reports progress with every pack it writes, mid-page too', async () => {
    // Two packs' worth of random data: the first pack (with its records' headers) fills a few
    // blocks before half of it is copied, in the middle of a page (16 MiB of blocks).
    const size = 2 * PACK_TARGET_BYTES;
    await store.createVolume('d-pg', size);
    await store.writeVolume('d-pg', 0, randomBytes(size));
    await store.beginSnapshot('s-pg', 'd-pg');
    const reported: number[] = [];
    await store.copySnapshot('s-pg', async (fraction) => void reported.push(fraction), never);
    assert.ok(
      reported.some((f) => f > 0.3 && f < 0.7),
      `a figure halfway, from the pack written mid-page: ${reported.join(', ')}`,
    );
    assert.deepEqual(
      reported,
      [...reported].sort((a, b) => a - b),
      'never going back',
    );
    await store.deleteVolume('d-pg');
    await store.deleteSnapshot('s-pg');
  });

  it('lends read answers from a pool: a buffer given back is reused, never handed out twice', async () => {
    const size = 2 * MiB;
    await store.createVolume('d-lend', size);
    const image = Buffer.alloc(size);
    randomBytes(MiB).copy(image, 0);
    await store.writeVolume('d-lend', 0, image);
    await store.beginSnapshot('s-lend', 'd-lend');
    await store.copySnapshot('s-lend', noProgress, never);

    const first = await store.readSnapshot('s-lend', 0, MiB);
    assert.equal(sha(first), sha(image.subarray(0, MiB)));
    store.releaseRead(first);
    store.releaseRead(first); // a second release of the same buffer is ignored
    // The released buffer is reused, and what it held before does not show through the holes.
    const holes = await store.readSnapshot('s-lend', MiB, MiB);
    assert.equal(holes.buffer, first.buffer);
    assert.ok(holes.equals(Buffer.alloc(MiB)), 'a range of holes reads as zeros');
    const other = await store.readVolume('d-lend', 0, MiB);
    assert.notEqual(other.buffer, holes.buffer, 'not lent twice');
    assert.equal(sha(other), sha(image.subarray(0, MiB)));
    store.releaseRead(holes);
    store.releaseRead(other);
    await store.deleteSnapshot('s-lend');
    await store.deleteVolume('d-lend');
  });

  it('a snapshot of an unchanged disk is complete from its freeze; concurrent ones share it', async () => {
    const size = 2 * MiB;
    await store.createVolume('d-u', size);
    await store.writeVolume('d-u', 0, randomBytes(BS * 2));
    assert.equal(await store.beginSnapshot('s-u1', 'd-u'), 'copying');
    // Frozen while s-u1 still copies: derived from it, copied after it.
    assert.equal(await store.beginSnapshot('s-u2', 'd-u'), 'copying');
    await store.copySnapshot('s-u1', noProgress, never);
    await store.copySnapshot('s-u2', noProgress, never);
    const states = await Promise.all(['s-u3', 's-u4', 's-u3'].map((id) => store.beginSnapshot(id, 'd-u')));
    assert.deepEqual(states, ['complete', 'complete', 'complete']);
    assert.equal(await store.beginSnapshot('s-u3', 'd-u'), 'complete'); // a second call changes nothing
    const first = await readAll(store, 's-u1', size);
    for (const id of ['s-u2', 's-u3', 's-u4']) assert.equal(sha(await readAll(store, id, size)), sha(first));
    await store.writeVolume('d-u', 0, randomBytes(BS));
    assert.equal(await store.beginSnapshot('s-u5', 'd-u'), 'copying');
    await store.copySnapshot('s-u5', noProgress, never);
    // Leaves nothing behind (a later test expects an empty store).
    await store.deleteVolume('d-u');
    for (const id of ['s-u1', 's-u2', 's-u3', 's-u4', 's-u5']) await store.deleteSnapshot(id);
  });

  it('a copy that starts the moment the freeze commits still sees every later write preserved', async () => {
    // The job runner may claim a snapshot's job as soon as its row is committed, while the
    // freeze that committed it is still flushing: the copy must use the very guard the write
    // path preserves into (a second one, installed later, once let later writes leak in).
    const size = 4 * MiB;
    await store.createVolume('d-r', size);
    const image = randomBytes(size);
    await store.writeVolume('d-r', 0, image);
    const frozen = store.beginSnapshot('s-r1', 'd-r');
    while (store.db.snapshot('s-r1') === undefined) await new Promise((r) => setImmediate(r));
    const copied = store.copySnapshot('s-r1', noProgress, never);
    await store.writeVolume('d-r', 0, randomBytes(size));
    await frozen;
    await copied;
    assert.equal(sha(await readAll(store, 's-r1', size)), sha(image));
    await store.deleteVolume('d-r');
    await store.deleteSnapshot('s-r1');
  });

  it('a read whose pack the garbage collector rewrites meanwhile finds the chunks where they moved', async () => {
    const size = 4 * MiB;
    await store.createVolume('d-g', size);
    await store.writeVolume('d-g', 0, randomBytes(size));
    await store.beginSnapshot('s-g1', 'd-g');
    await store.copySnapshot('s-g1', noProgress, never);
    const before = new Set(store.db.packs().map((p) => p.id));
    // Three quarters rewritten, then the first snapshot deleted: its pack becomes mostly dead.
    await store.writeVolume('d-g', 0, randomBytes(3 * MiB));
    await store.beginSnapshot('s-g2', 'd-g');
    await store.copySnapshot('s-g2', noProgress, never);
    const expected = await store.readVolume('d-g', 0, size);
    // Only the collection the hook below starts: a scheduled one could reach the old pack first,
    // and the hook, run inside its own read, would then wait for itself. So none is scheduled,
    // and one scheduled before (its timer may still be pending) has run and ended.
    const schedule = store.scheduleGc.bind(store);
    store.scheduleGc = () => undefined;
    await new Promise((resolve) => setTimeout(resolve, 100));
    await store.collectGarbage();
    await store.deleteSnapshot('s-g1');
    // The collector runs just as the read, having looked the chunks up, goes to the old pack.
    const objects = store.objectStore;
    const read = objects.read.bind(objects);
    let collecting: ReturnType<BlockStore['collectGarbage']> | undefined;
    objects.read = async (key, offset, length) => {
      if (!collecting && [...before].some((id) => key === packKey(id))) {
        collecting = store.collectGarbage();
        await collecting;
      }
      return read(key, offset, length);
    };
    try {
      assert.equal(sha(await readAll(store, 's-g2', size)), sha(expected));
    } finally {
      objects.read = read;
      store.scheduleGc = schedule;
    }
    const collected = await collecting;
    assert.equal(collected?.packsRewritten, 1, JSON.stringify(collected));
    await store.deleteVolume('d-g');
    await store.deleteSnapshot('s-g2');
  });

  it('a read of a restoring disk outlives the restore, its snapshot and the collection of its chunks', async () => {
    const size = 2 * MiB;
    const content = await snapshotOfDeletedDisk(store, 's-hs', size);
    await store.createVolume('d-hr', size, 's-hs');
    // The read decides its blocks come from the snapshot; then, before it fetches them, the fill
    // completes, the snapshot is deleted and the collector removes its chunks.
    const chunks = store.chunks;
    const get = chunks.get.bind(chunks);
    let raced = false;
    chunks.get = async (hash) => {
      if (!raced) {
        raced = true;
        while ((await store.restoreProgress('d-hr')) !== undefined)
          await new Promise((r) => setTimeout(r, 10));
        await store.deleteSnapshot('s-hs');
        await store.collectGarbage();
      }
      return get(hash);
    };
    try {
      assert.equal(sha(await store.readVolume('d-hr', 0, size)), sha(content));
    } finally {
      chunks.get = get;
    }
    assert.ok(raced);
    assert.equal(store.db.snapshot('s-hs'), undefined);
    await store.deleteVolume('d-hr');
  });

  it('fills two restores at a time; a disk whose fill waits for its turn is deleted at once', async () => {
    const size = 16 * MiB;
    const content = await snapshotOfDeletedDisk(store, 's-fs', size);
    for (const id of ['d-f1', 'd-f2', 'd-f3']) await store.createVolume(id, size, 's-fs');
    // The fills' chunk reads are held back: the first two fills hold both slots, the third waits.
    const chunks = store.chunks;
    const getMany = chunks.getMany.bind(chunks);
    let reads = 0;
    let letGo: () => void = () => undefined;
    const held = new Promise<void>((resolve) => (letGo = resolve));
    chunks.getMany = async (hashes, lease) => {
      reads++;
      await held;
      return getMany(hashes, lease);
    };
    try {
      // Two fills, each with two groups read ahead, are stuck in their reads.
      for (let i = 0; i < 500 && reads < 4; i++) await new Promise((r) => setTimeout(r, 10));
      assert.equal(reads, 4, 'two fills run, the third waits for a slot');
      // The waiting fill stops at once: the delete does not wait for a slot (if it did, it would
      // wait for ever here: the reads are held until the end of this block).
      const deleted = store.deleteVolume('d-f3');
      deleted.catch(() => undefined);
      await Promise.race([
        deleted,
        new Promise((_, reject) =>
          setTimeout(() => reject(new Error('the delete waited for a fill slot')), 10_000),
        ),
      ]);
      assert.equal(reads, 4);
      assert.notEqual(await store.restoreProgress('d-f1'), undefined, 'the running fills are still held');
    } finally {
      letGo();
      chunks.getMany = getMany;
    }
    for (const id of ['d-f1', 'd-f2']) {
      while ((await store.restoreProgress(id)) !== undefined) await new Promise((r) => setTimeout(r, 10));
      assert.equal(sha(await store.readVolume(id, 0, size)), sha(content));
      await store.deleteVolume(id);
    }
    await store.deleteSnapshot('s-fs');
  });

  it('a restore reads each group of 256 blocks in one read', async () => {
    const size = 16 * MiB;
    const content = await snapshotOfDeletedDisk(store, 's-gr', size);
    const objects = store.objectStore;
    const read = objects.read.bind(objects);
    const lengths: number[] = [];
    objects.read = async (key, offset, length, into) => {
      lengths.push(length);
      return read(key, offset, length, into);
    };
    try {
      await store.createVolume('d-gr', size, 's-gr');
      while ((await store.restoreProgress('d-gr')) !== undefined) await new Promise((r) => setTimeout(r, 10));
    } finally {
      objects.read = read;
    }
    // A group of 256 blocks (4 MiB and their record headers) is one read per pack it lies in; a
    // group's last block is not read apart.
    let expected = 0;
    for (let group = 0; group < size / BS / 256; group++) {
      const packs = new Set<string>();
      for (let block = group * 256; block < (group + 1) * 256; block++)
        packs.add(store.db.chunk(chunkId(store, content.subarray(block * BS, (block + 1) * BS)))?.pack ?? '');
      expected += packs.size;
    }
    assert.equal(lengths.filter((length) => length >= BS && length % (BS + 48) === BS).length, expected);
    assert.equal(sha(await store.readVolume('d-gr', 0, size)), sha(content));
    await store.deleteVolume('d-gr');
    await store.deleteSnapshot('s-gr');
  });

  it('writes made while the background fill runs are never overwritten by it', async () => {
    const size = 24 * MiB;
    const expected = await snapshotOfDeletedDisk(store, 's-ws', size);
    await store.createVolume('d-wr', size, 's-ws');
    // Writes land all over the disk, whole blocks and parts of blocks, while the fill copies.
    let writes = 0;
    while ((await store.restoreProgress('d-wr')) !== undefined || writes < 8) {
      const at = Math.floor(Math.random() * (size - BS * 3));
      const data = randomBytes(writes % 2 === 0 ? BS * 2 : 1000);
      await store.writeVolume('d-wr', at, data);
      data.copy(expected, at);
      writes++;
    }
    assert.equal(sha(await store.readVolume('d-wr', 0, size)), sha(expected));
    await store.deleteVolume('d-wr');
    await store.deleteSnapshot('s-ws');
  });

  it('restores a snapshot into a new volume and rolls a volume back', async () => {
    const size = 8 * MiB;
    const original = await readAll(store, 's-1', size);
    await store.createVolume('d-b', size, 's-1');
    assert.equal(sha(await store.readVolume('d-b', 0, size)), sha(original));
    await store.writeVolume('d-b', 0, randomBytes(2 * MiB));
    await store.resetVolume('d-b', 's-1');
    assert.equal(sha(await store.readVolume('d-b', 0, size)), sha(original));
    const extents = await store.volumeExtents('d-b');
    assert.deepEqual(extents, await store.snapshotExtents('s-1'));
  });

  it('chains: a snapshot begun while the previous one is copying waits for it', async () => {
    await store.createVolume('d-c', 4 * MiB);
    await store.writeVolume('d-c', 0, randomBytes(MiB));
    await store.beginSnapshot('s-c1', 'd-c');
    await store.writeVolume('d-c', 2 * MiB, randomBytes(MiB));
    await store.beginSnapshot('s-c2', 'd-c');
    await assert.rejects(store.copySnapshot('s-c2', noProgress, never), EngineNotReady);
    await store.copySnapshot('s-c1', noProgress, never);
    await store.copySnapshot('s-c2', noProgress, never);
    assert.equal(sha(await readAll(store, 's-c2', 4 * MiB)), sha(await store.readVolume('d-c', 0, 4 * MiB)));
  });

  it('stores a block of a few random sectors and zeros as its non-zero sectors', async () => {
    await store.createVolume('d-z', MiB);
    const image = Buffer.alloc(MiB);
    const sector = randomBytes(4096);
    sector.copy(image, BS + 8192); // block 1: sector 2 random, the rest zeros
    Buffer.alloc(4096, 'text text ').copy(image, 2 * BS); // block 2: text and zeros: as its parts
    await store.writeVolume('d-z', 0, image);
    await store.beginSnapshot('s-z', 'd-z');
    await store.copySnapshot('s-z', noProgress, never);
    const row = (block: number) =>
      store.db.db
        .prepare('SELECT codec, stored_len AS storedLen FROM chunks WHERE hash = ?')
        .get(chunkId(store, image.subarray(block * BS, (block + 1) * BS))) as {
        codec: number;
        storedLen: number;
      };
    const rows = [row(2), row(1)];
    assert.deepEqual(
      rows.map((r) => r.codec),
      [3, 2],
    );
    assert.equal(rows[1]!.storedLen, 1 + 4096);
    assert.equal(sha(await readAll(store, 's-z', MiB)), sha(image));
    assert.deepEqual((await store.verify()).problems, []);
    await store.deleteSnapshot('s-z');
    await store.deleteVolume('d-z');
    await store.collectGarbage();
  });

  /** A 2 MiB disk whose first MiB is text, and its first snapshot; returns what it holds. */
  async function textDisk(diskId: string, snapshotId: string): Promise<Buffer> {
    await store.createVolume(diskId, 2 * MiB);
    const image = Buffer.alloc(2 * MiB);
    Buffer.alloc(MiB, `log line of ${diskId}: request served in 3 ms\n`).copy(image, 0);
    await store.writeVolume(diskId, 0, image);
    await store.beginSnapshot(snapshotId, diskId);
    await store.copySnapshot(snapshotId, noProgress, never);
    return image;
  }

  /** The codec the store keeps block `block` of `image` in. */
  const codecOf = (image: Buffer, block: number) =>
    store.db.db
      .prepare('SELECT codec FROM chunks WHERE hash = ?')
      .pluck()
      .get(chunkId(store, image.subarray(block * BS, (block + 1) * BS)));

  it('stores scattered changed blocks as contiguous ones (encoded on the hash workers)', async () => {
    const image = await textDisk('d-sc', 's-sc1');
    // One random sector into text blocks 3, 10 and 20 and into the empty block 90: runs of one.
    for (const block of [3, 10, 20, 90]) {
      const sector = randomBytes(4096);
      sector.copy(image, block * BS + 4096);
      await store.writeVolume('d-sc', block * BS + 4096, sector);
    }
    const sectors = () =>
      store.db.db
        .prepare('SELECT count(*) FROM chunks WHERE kind = ?')
        .pluck()
        .get(ChunkKind.Sector) as number;
    const sectorsBefore = sectors();
    await store.beginSnapshot('s-sc2', 'd-sc');
    await store.copySnapshot('s-sc2', noProgress, never);
    // The text blocks as their parts (their text sectors stored already: only the random sectors
    // are new), the empty one as its random sector.
    assert.deepEqual(
      [3, 10, 20, 90].map((block) => codecOf(image, block)),
      [3, 3, 3, 2],
    );
    assert.equal(sectors() - sectorsBefore, 3);
    assert.equal(sha(await readAll(store, 's-sc2', 2 * MiB)), sha(image));
    assert.deepEqual((await store.verify()).problems, []);
    await store.deleteSnapshot('s-sc1');
    await store.deleteSnapshot('s-sc2');
    await store.deleteVolume('d-sc');
    await store.collectGarbage();
  });

  it('stores scattered blocks as the workers answer them, a block overwritten since the freeze as it was', async () => {
    const image = await textDisk('d-st', 's-st1');
    // Whole random blocks 5, 30 and 100 (stored as they are), a sector into text block 12 (stored
    // as its parts).
    const changes: [number, Buffer][] = [
      [5 * BS, randomBytes(BS)],
      [30 * BS, randomBytes(BS)],
      [100 * BS, randomBytes(BS)],
      [12 * BS + 4096, randomBytes(4096)],
    ];
    for (const [at, bytes] of changes) {
      bytes.copy(image, at);
      await store.writeVolume('d-st', at, bytes);
    }
    await store.beginSnapshot('s-st2', 'd-st');
    // Block 30 is overwritten before the copy reads it: the copy takes its preserved content.
    await store.writeVolume('d-st', 30 * BS, randomBytes(BS));
    await store.copySnapshot('s-st2', noProgress, never);
    assert.equal(sha(await readAll(store, 's-st2', 2 * MiB)), sha(image));
    assert.deepEqual(
      [5, 30, 100, 12].map((block) => codecOf(image, block)),
      [0, 0, 0, 3],
    );
    assert.deepEqual((await store.verify()).problems, []);
    await store.deleteSnapshot('s-st1');
    await store.deleteSnapshot('s-st2');
    await store.deleteVolume('d-st');
    await store.collectGarbage();
  });

  it("counts new pages' holds at the next collection, cancelling out with the old pages' holds", async () => {
    const size = 40 * MiB; // three manifest pages
    await store.createVolume('d-h', size);
    const image = randomBytes(size);
    image.fill(0, 20 * MiB, 24 * MiB);
    await store.writeVolume('d-h', 0, image);
    await store.beginSnapshot('s-h1', 'd-h');
    await store.copySnapshot('s-h1', noProgress, never);
    await store.collectGarbage(); // s-h1's pages settled
    await assertCountsMatchManifests(store);
    // One block in each page changes: every page is rebuilt, most of its entries unchanged.
    for (const at of [BS, 17 * MiB, 33 * MiB]) {
      const block = randomBytes(BS);
      block.copy(image, at);
      await store.writeVolume('d-h', at, block);
    }
    await store.beginSnapshot('s-h2', 'd-h');
    await store.copySnapshot('s-h2', noProgress, never);
    // s-h3 is taken and deleted before any collection: its pages never counted their entries.
    const block = randomBytes(BS);
    await store.writeVolume('d-h', 2 * BS, block);
    await store.beginSnapshot('s-h3', 'd-h');
    await store.copySnapshot('s-h3', noProgress, never);
    await store.deleteSnapshot('s-h3');
    await store.deleteSnapshot('s-h1');
    await store.collectGarbage();
    await assertCountsMatchManifests(store);
    assert.equal(sha(await readAll(store, 's-h2', size)), sha(image));
    assert.deepEqual((await store.verify()).problems, []);
    await store.deleteSnapshot('s-h2');
    await store.deleteVolume('d-h');
    await store.collectGarbage();
    await assertCountsMatchManifests(store);
  });

  it('deleting snapshots reclaims only unshared chunks; verify passes, then finds damage', async () => {
    const size = 8 * MiB;
    const second = await readAll(store, 's-2', size);
    await store.deleteSnapshot('s-1');
    await store.collectGarbage();
    assert.equal(sha(await readAll(store, 's-2', size)), sha(second));
    assert.deepEqual((await store.verify()).problems, []);
    await assertCountsMatchManifests(store);

    await store.deleteVolume('d-a');
    await store.deleteVolume('d-b');
    await store.deleteVolume('d-c');
    for (const id of ['s-2', 's-c1', 's-c2']) await store.deleteSnapshot(id);
    await store.collectGarbage();
    assert.equal(store.storedBytes(), 0);
    assert.deepEqual(await readdir(path.join(dir, 'volumes')), []);

    await store.createVolume('d-e', MiB);
    await store.writeVolume('d-e', 0, randomBytes(MiB));
    await store.beginSnapshot('s-e', 'd-e');
    await store.copySnapshot('s-e', noProgress, never);
    const pack = store.db.packs()[0]!;
    const file = path.join(dir, 'chunks', packKey(pack.id));
    const bytes = await readFile(file);
    bytes[200] = (bytes[200] as number) ^ 0xff;
    await store.objectStore.close();
    await writeFile(file, bytes);
    const report = await store.verify();
    assert.equal(report.problems.length, 1);
    assert.deepEqual(report.problems[0]!.snapshots, ['s-e']);
    await assert.rejects(readAll(store, 's-e', MiB), /does not match its hash/);
  });

  it('keeps serving while verify runs (it holds no statement open across its reads)', async () => {
    await store.createVolume('d-v', 4 * MiB);
    await store.writeVolume('d-v', 0, randomBytes(4 * MiB));
    await store.beginSnapshot('s-v1', 'd-v');
    await store.copySnapshot('s-v1', noProgress, never);
    const verifying = store.verify();
    await store.beginSnapshot('s-v2', 'd-v');
    await store.copySnapshot('s-v2', noProgress, never);
    await verifying;
  });
});

describe('block store chunk ids', () => {
  /**
   * A snapshot of a disk with random, text and zero blocks, restored and verified; returns the
   * id algorithm code its packs carry and whether every block's row is under the given ids.
   */
  async function roundTrip(
    dir: string,
    id: (data: Buffer) => Buffer,
  ): Promise<{ code: number; found: boolean }> {
    const store = new BlockStore({ dataDir: dir });
    await store.open();
    try {
      const image = Buffer.alloc(2 * MiB);
      randomBytes(MiB).copy(image, 0);
      Buffer.alloc(MiB / 2, 'log line 7: all is well\n').copy(image, MiB);
      await store.createVolume('d-id', image.length);
      await store.writeVolume('d-id', 0, image);
      await store.beginSnapshot('s-id1', 'd-id');
      await store.copySnapshot('s-id1', noProgress, never);
      // An incremental of scattered blocks: hashed (and compressed) on the workers.
      for (const block of [5, 70]) {
        const sector = randomBytes(4096);
        sector.copy(image, block * BS);
        await store.writeVolume('d-id', block * BS, sector);
      }
      await store.beginSnapshot('s-id2', 'd-id');
      await store.copySnapshot('s-id2', noProgress, never);
      await store.createVolume('d-id2', image.length, 's-id2');
      while ((await store.restoreProgress('d-id2')) !== undefined)
        await new Promise((r) => setTimeout(r, 10));
      assert.equal(sha(await store.readVolume('d-id2', 0, image.length)), sha(image));
      assert.equal(sha(await readAll(store, 's-id2', image.length)), sha(image));
      assert.deepEqual((await store.verify()).problems, []);
      let found = true;
      for (let block = 0; block < (3 * MiB) / 2 / BS; block++)
        found &&= store.db.chunk(id(image.subarray(block * BS, (block + 1) * BS))) !== undefined;
      const pack = store.db.packs()[0]!;
      const code = (await readFile(path.join(dir, 'chunks', packKey(pack.id)))).readUInt32LE(12);
      return { code, found };
    } finally {
      await store.close();
    }
  }

  it('a new store names chunks by BLAKE3; one made before keeps SHA-256, and both restore and verify', async () => {
    const made = await mkdtemp(path.join(tmpdir(), 'ensnap-ids-'));
    const older = await mkdtemp(path.join(tmpdir(), 'ensnap-ids-old-'));
    try {
      const blake3 = chunkIdFunction('blake3');
      const sha256 = chunkIdFunction('sha256');
      // The algorithms' published values for "abc".
      assert.equal(
        blake3(Buffer.from('abc')).toString('hex'),
        '6437b3ac38465133ffb63b75273a8db548c558465d79db03fd359c6cd5bd9d85',
      );
      assert.equal(
        sha256(Buffer.from('abc')).toString('hex'),
        'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad',
      );
      assert.deepEqual(await roundTrip(made, blake3), { code: 1, found: true });
      // A store whose index recorded SHA-256 (it held chunks when migration 4 came).
      const { EngineDb } = await import('../../src/storage/engine/engine-db.js');
      const db = new EngineDb(path.join(older, 'engine.db'));
      db.db.prepare("UPDATE settings SET value = 'sha256' WHERE key = 'chunk_id'").run();
      db.close();
      assert.deepEqual(await roundTrip(older, sha256), { code: 0, found: true });
    } finally {
      await rm(made, { recursive: true, force: true });
      await rm(older, { recursive: true, force: true });
    }
  });
});

/** Runs `use` with a block store of its own, in a new directory removed afterwards. */
async function withOwnStore(prefix: string, use: (store: BlockStore, dir: string) => Promise<void>) {
  const dir = await mkdtemp(path.join(tmpdir(), prefix));
  const store = new BlockStore({ dataDir: dir });
  await store.open();
  try {
    await use(store, dir);
  } finally {
    await store.close();
    await rm(dir, { recursive: true, force: true });
  }
}

describe('block store packs', () => {
  it('are written in pieces as they fill: records span pieces, zeros end the pack at a 4 KiB multiple', async () => {
    await withOwnStore('ensnap-packs-', async (store, dir) => {
      // Over two 4 MiB pieces of records, of every codec: random, text, zero-sector blocks.
      const image = Buffer.alloc(12 * MiB);
      randomBytes(9 * MiB).copy(image, 0);
      Buffer.alloc(2 * MiB, 'log line 8: all is well\n').copy(image, 9 * MiB);
      for (let block = 11 * 64; block < 12 * 64; block += 2) randomBytes(4096).copy(image, block * BS);
      await store.createVolume('d-pk', image.length);
      await store.writeVolume('d-pk', 0, image);
      await store.beginSnapshot('s-pk', 'd-pk');
      await store.copySnapshot('s-pk', noProgress, never);
      assert.equal(sha(await readAll(store, 's-pk', image.length)), sha(image));

      // Walked as a recovery tool would, with nothing but the layout in docs/storage.md.
      const [pack, ...others] = store.db.packs();
      assert.ok(pack && others.length === 0, 'one pack');
      const file = await readFile(path.join(dir, 'chunks', packKey(pack.id)));
      assert.equal(file.length, pack.bytes, 'the index has its length');
      assert.equal(file.length % 4096, 0, 'a multiple of 4 KiB');
      assert.equal(file.subarray(0, 8).toString(), 'ENSNAPPK');
      const rows = new Map(store.db.chunksInPack(pack.id).map((row) => [row.hash.toString('hex'), row]));
      let at = 16;
      let records = 0;
      while (at + 48 <= file.length && file.readUInt32LE(at) === RECORD_MAGIC) {
        const stored = file.readUInt32LE(at + 12);
        const row = rows.get(file.subarray(at + 16, at + 48).toString('hex'));
        assert.ok(row, 'each record is a chunk of the index');
        assert.deepEqual(
          [row.offset, row.storedLen, row.rawLen, row.codec, row.kind],
          [at + 48, stored, file.readUInt32LE(at + 8), file[at + 5], file[at + 4]],
        );
        records++;
        at += 48 + stored;
      }
      assert.equal(records, rows.size, 'every chunk of the index is a record');
      assert.ok(file.length - at < 4096, 'less than 4 KiB after the last record');
      assert.ok(
        file.subarray(at).every((byte) => byte === 0),
        'and that is zeros',
      );
      // Random blocks as they are, text blocks as their parts (sectors deflated), zero sectors left out.
      assert.deepEqual(new Set([...rows.values()].map((r) => r.codec)), new Set([0, 1, 2, 3]));
      assert.deepEqual(await readdir(path.join(dir, 'chunks', 'tmp')), [], 'no piece left behind');
    });
  });
});

/** Text-like bytes (17 byte values, at random): compressible, and no two 4 KiB sectors alike. */
const randomText = (length: number) =>
  Buffer.from(randomBytes(length).map((b) => 'abcdefgh ijklmnop'.charCodeAt(b % 17)));

describe('block store sectors', () => {
  it('stores compressible blocks as their sectors, shared across alignments, disks and snapshots', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'ensnap-sectors-'));
    let store = new BlockStore({ dataDir: dir });
    await store.open();
    try {
      const text = randomText(MiB);
      const countOf = (kind: ChunkKind, codec?: Codec) =>
        store.db.db
          .prepare(`SELECT count(*) FROM chunks WHERE kind = ?${codec === undefined ? '' : ' AND codec = ?'}`)
          .pluck()
          .get(...(codec === undefined ? [kind] : [kind, codec]));
      // Disk 1: 6 MiB of random bytes, then the text. Its snapshot stores the text's 256 sectors.
      const one = Buffer.alloc(8 * MiB);
      randomBytes(6 * MiB).copy(one, 0);
      text.copy(one, 6 * MiB);
      await store.createVolume('d-1', one.length);
      await store.writeVolume('d-1', 0, one);
      await store.beginSnapshot('s-1', 'd-1');
      await store.copySnapshot('s-1', noProgress, never);
      assert.equal(countOf(ChunkKind.Sector), 256);
      assert.equal(countOf(ChunkKind.Data, Codec.Parts), 64);
      // A sector inflates into memory of its own size (not a 16 KiB buffer, kept by the cache).
      const sectorId = store.db.db
        .prepare('SELECT hash FROM chunks WHERE kind = ? LIMIT 1')
        .pluck()
        .get(ChunkKind.Sector) as Buffer;
      assert.equal((await store.chunks.get(sectorId)).buffer.byteLength, 4096);

      // Disk 2: the text at the same alignment (the same blocks), and again one sector later (new
      // blocks, every sector known): only the new blocks' lists of sectors are stored.
      const two = Buffer.alloc(4 * MiB);
      text.copy(two, 0);
      text.copy(two, MiB + 4096);
      await store.createVolume('d-2', two.length);
      await store.writeVolume('d-2', 0, two);
      const before = store.storedBytes();
      await store.beginSnapshot('s-2', 'd-2');
      await store.copySnapshot('s-2', noProgress, never);
      const added = store.storedBytes() - before;
      assert.ok(added < 32 * 1024, `the shifted text added ${added} bytes`);
      assert.equal(countOf(ChunkKind.Sector), 256);
      assert.equal(sha(await readAll(store, 's-2', two.length)), sha(two));

      // Snapshot 1 deleted: its pack is mostly dead (the random blocks) and rewritten, with the
      // text's sectors and blocks that snapshot 2 still holds.
      await store.deleteSnapshot('s-1');
      await store.deleteVolume('d-1');
      const collected = await store.collectGarbage();
      assert.ok(collected.packsRewritten >= 1, 'the first pack is rewritten');
      assert.equal(countOf(ChunkKind.Sector), 256);
      assert.equal(sha(await readAll(store, 's-2', two.length)), sha(two));
      assert.deepEqual((await store.verify()).problems, []);
      await assertCountsMatchManifests(store);

      // A damaged sector (found by a server started afresh, with no block read yet): the snapshot
      // naming a block made of it is reported, and its read fails.
      await store.close();
      store = new BlockStore({ dataDir: dir });
      await store.open();
      const sector = store.db.db
        .prepare(
          'SELECT p.id AS pack, c.offset FROM chunks c JOIN packs p ON p.seq = c.pack WHERE c.kind = ? LIMIT 1',
        )
        .get(ChunkKind.Sector) as { pack: string; offset: number };
      const file = path.join(dir, 'chunks', packKey(sector.pack));
      const bytes = await readFile(file);
      bytes[sector.offset + 10] = (bytes[sector.offset + 10] as number) ^ 0xff;
      await store.objectStore.close();
      await writeFile(file, bytes);
      const report = await store.verify();
      assert.ok(
        report.problems.some((p) => /sector/.test(p.what) && p.snapshots.join() === 's-2'),
        JSON.stringify(report.problems),
      );
      await assert.rejects(readAll(store, 's-2', two.length), /sector [0-9a-f]+ is unreadable/);

      // Everything deleted: nothing is left, sectors included.
      await store.deleteSnapshot('s-2');
      await store.deleteVolume('d-2');
      await store.collectGarbage();
      assert.equal(store.storedBytes(), 0);
      assert.equal(countOf(ChunkKind.Sector), 0);
    } finally {
      await store.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('block store copy attempts', () => {
  it('a copy that failed after a checkpoint was committed resumes past it', async () => {
    await withOwnStore('ensnap-attempts-', async (store) => {
      const image = randomBytes(PACK_TARGET_BYTES + 8 * MiB); // two packs, a checkpoint each
      await store.createVolume('d-r', image.length);
      await store.writeVolume('d-r', 0, image);
      await store.beginSnapshot('s-r', 'd-r');
      // The first checkpoint commits; the flush after it fails, and so does the attempt.
      const sync = store.db.sync.bind(store.db);
      store.db.sync = async () => {
        if (store.db.checkpointedPages('s-r').length > 0) throw new Error('flush failed');
        return sync();
      };
      await assert.rejects(store.copySnapshot('s-r', noProgress, never), /flush failed/);
      store.db.sync = sync;
      assert.ok(store.db.checkpointedPages('s-r').length > 0, "the first pack's pages were committed");
      // A later write to a block of those pages is preserved for the snapshot all the same.
      const late = randomBytes(BS);
      await store.writeVolume('d-r', 0, late);
      await store.copySnapshot('s-r', noProgress, never);
      assert.equal(sha(await readAll(store, 's-r', image.length)), sha(image));
      assert.deepEqual((await store.verify()).problems, []);
      await store.collectGarbage();
      await assertCountsMatchManifests(store);
    });
  });
});
