// Manifest pages: a page patched with a copy's changes is the page decoded, changed and encoded.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import {
  decodePage,
  ManifestCorrupt,
  patchPage,
  PAGE_BLOCKS,
  type Page,
} from '../../src/storage/engine/manifest.js';

const id = () => randomBytes(32);

/** What patchPage must give: the Map way. */
function expected(before: Page, changes: Map<number, Buffer | null>): Page {
  const page = new Map(before);
  for (const [slot, hash] of changes) {
    if (hash) page.set(slot, hash);
    else page.delete(slot);
  }
  return page;
}

const sorted = (page: Page) => [...page].sort((a, b) => a[0] - b[0]);

describe('manifest pages', () => {
  it('builds a page from nothing, in slot order, whatever order the changes came in', () => {
    const changes = new Map<number, Buffer | null>([
      [700, id()],
      [3, id()],
      [PAGE_BLOCKS - 1, id()],
      [0, id()],
      [5, null],
    ]);
    const page = patchPage(undefined, changes) as Buffer;
    const decoded = decodePage(page);
    assert.deepEqual(sorted(decoded), sorted(expected(new Map(), changes)));
    assert.deepEqual([...decoded.keys()], [0, 3, 700, PAGE_BLOCKS - 1]);
  });

  it('keeps, replaces, inserts and removes entries around the changed slots', () => {
    const before = new Map<number, Buffer>();
    for (let slot = 0; slot < PAGE_BLOCKS; slot += 7) before.set(slot, id());
    const first = patchPage(undefined, before) as Buffer;
    for (let round = 0; round < 20; round++) {
      const changes = new Map<number, Buffer | null>();
      for (let k = 0; k < 30; k++) {
        const slot = Math.floor(Math.random() * PAGE_BLOCKS);
        changes.set(slot, Math.random() < 0.3 ? null : id());
      }
      const patched = patchPage(first, changes) as Buffer;
      assert.deepEqual(sorted(decodePage(patched)), sorted(expected(before, changes)));
    }
  });

  it('is empty (undefined) when every entry is removed', () => {
    const page = patchPage(undefined, new Map([[10, id()]])) as Buffer;
    assert.equal(patchPage(page, new Map([[10, null]])), undefined);
    assert.equal(patchPage(undefined, new Map([[1, null]])), undefined);
  });

  it('refuses a damaged page', () => {
    const page = patchPage(undefined, new Map([[10, id()]])) as Buffer;
    assert.throws(() => patchPage(page.subarray(0, page.length - 1), new Map()), ManifestCorrupt);
    const outOfRange = Buffer.from(page);
    outOfRange.writeUInt16LE(PAGE_BLOCKS, 8);
    assert.throws(() => patchPage(outOfRange, new Map([[3, id()]])), ManifestCorrupt);
    const badMagic = Buffer.from(page);
    badMagic[0] = 0;
    assert.throws(() => patchPage(badMagic, new Map()), ManifestCorrupt);
  });
});
