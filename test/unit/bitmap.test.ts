// Bitmaps: held in pages made when a bit in them is first set (a sparse map of a big volume holds
// a few pages), with the count of set bits kept exact.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { Bitmap, BitmapFile } from '../../src/storage/engine/bitmap.js';

/** The set bits, counted one by one. */
function reference(bytes: Uint8Array, bits: number): number[] {
  const out: number[] = [];
  for (let bit = 0; bit < bits; bit++)
    if (((bytes[bit >>> 3] as number) & (1 << (bit & 7))) !== 0) out.push(bit);
  return out;
}

describe('bitmap', () => {
  const dirs: string[] = [];
  after(async () => Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true }))));

  it('loads bytes at word offsets, copies and clears, keeping its count exact', () => {
    const bits = 10_000 * 8 + 5; // not a whole number of words
    const bytes = new Uint8Array(Bitmap.byteLength(bits));
    bytes.set(randomBytes(300), 0);
    bytes.set(randomBytes(200), 4000);
    bytes[bytes.length - 1] = 0x1f; // the last, partial byte: its five bits
    const map = new Bitmap(bits, bytes);
    const expected = reference(bytes, bits);
    assert.deepEqual([...map.ones()], expected);
    assert.equal(map.count(), expected.length);

    // Loading over set bits replaces them (bits cleared and set, the count follows).
    const patch = new Uint8Array(9); // not a multiple of 4: the tail is loaded byte by byte
    patch[0] = 0xff;
    map.load(patch, 4000);
    bytes.set(patch, 4000);
    assert.deepEqual([...map.ones()], reference(bytes, bits));
    assert.equal(map.count(), reference(bytes, bits).length);

    const copy = new Bitmap(bits);
    copy.assign(map);
    assert.deepEqual([...copy.ones()], [...map.ones()]);
    assert.equal(copy.count(), map.count());
    const other = map.copy();
    assert.equal(other.count(), map.count());

    map.clearAll();
    assert.equal(map.count(), 0);
    assert.deepEqual([...map.ones()], []);
    assert.equal(map.heldBytes, 0, 'a cleared map holds no pages');
    // The copies are their own.
    assert.deepEqual([...copy.ones()], reference(bytes, bits));
    assert.equal(other.count(), copy.count());
  });

  it('gives its set bits as runs, whole words and single bits alike, and back', () => {
    const bits = 4000 * 8 + 13;
    const bytes = new Uint8Array(Bitmap.byteLength(bits));
    bytes.fill(0xff, 64, 640); // runs of whole words
    bytes.set(randomBytes(100), 1000); // scattered bits
    bytes.fill(0xff, 1200, 1203); // a run ending inside a word
    bytes[639 + 1] = 0x01; // a run of whole words that goes on by one bit
    bytes[bytes.length - 2] = 0xff;
    bytes[bytes.length - 1] = 0x1f; // the last, partial byte: its five bits
    const map = new Bitmap(bits, bytes);
    const expected: [number, number][] = [];
    for (const bit of reference(bytes, bits)) {
      const last = expected[expected.length - 1];
      if (last && last[0] + last[1] === bit) last[1]++;
      else expected.push([bit, 1]);
    }
    assert.deepEqual(map.runs(), expected);
    assert.equal(
      map.runs().reduce((sum, [, length]) => sum + length, 0),
      map.count(),
    );
    assert.deepEqual([...Bitmap.fromRuns(bits, map.toRuns()).ones()], reference(bytes, bits));
  });

  it('holds only the pages it has bits in, across page edges, and persists what it holds', async () => {
    const bits = 500 * 64 * 1024 * 8; // a 500 GiB volume at 16 KiB blocks: 4 MiB of map
    const map = new Bitmap(bits);
    assert.equal(map.heldBytes, 0);
    const page = 64 * 1024 * 8; // bits per page
    // Runs across the edge of two pages, at the start, the middle and the end of the map.
    const runs: [number, number][] = [
      [0, 100],
      [3 * page - 5, 10],
      [bits - 40, 40],
    ];
    for (const [start, length] of runs) map.setRange(start, start + length - 1);
    assert.equal(map.heldBytes, 4 * 64 * 1024, 'the pages with bits in them, no more');
    assert.deepEqual(map.runs(), runs);
    assert.equal(map.count(), 150);
    assert.ok(map.has(3 * page) && !map.has(3 * page + 5) && !map.has(page));
    assert.deepEqual(map.span(), { from: 0, to: Bitmap.byteLength(bits) });
    const copy = new Bitmap(bits);
    copy.or(map);
    assert.deepEqual(copy.runs(), runs);
    assert.equal(copy.count(), 150);

    const dir = await mkdtemp(path.join(tmpdir(), 'ensnap-bitmap-'));
    dirs.push(dir);
    const file = await BitmapFile.create(path.join(dir, 'map.bitmap'), bits);
    file.map.assign(map);
    await file.persistAll();
    await file.close();
    const opened = await BitmapFile.open(path.join(dir, 'map.bitmap'), bits);
    assert.deepEqual(opened.map.runs(), runs);
    assert.equal(opened.map.heldBytes, 4 * 64 * 1024, 'opening makes only the pages with bits in them');
    await opened.close();
  });

  it('opens a map from its file a piece at a time', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'ensnap-bitmap-'));
    dirs.push(dir);
    const bits = 600 * 1024 * 8 + 3; // larger than one piece (256 KiB)
    const bytes = new Uint8Array(Bitmap.byteLength(bits));
    bytes.set(randomBytes(100), 10);
    bytes.set(randomBytes(100), 300 * 1024 + 2);
    bytes[bytes.length - 1] = 0x07;
    const file = path.join(dir, 'map.bitmap');
    await writeFile(file, bytes);
    const opened = await BitmapFile.open(file, bits);
    const expected = reference(bytes, bits);
    assert.equal(opened.map.count(), expected.length);
    assert.deepEqual([...opened.map.ones()], expected);
    await opened.close();
  });
});
