// The snapshot benchmark's image and change generators: deterministic, and the promised mix.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import {
  BLOCK,
  CORPUS_BYTES,
  generateImage,
  imageLayout,
  MiB,
  textCorpus,
} from '../../bench/snapshot/image.js';
import { applyModification, planModification } from '../../bench/snapshot/modify.js';
import { sha256File } from '../../bench/snapshot/common.js';

const dir = mkdtempSync(path.join(tmpdir(), 'ensnap-bench-image-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const SIZE_MIB = 96;

/** What a 1 MiB piece holds: all zero, printable text, or anything else (random). */
function classify(piece: Buffer): 'zero' | 'text' | 'random' {
  if (piece.every((b) => b === 0)) return 'zero';
  if (piece.every((b) => b === 10 || (b >= 32 && b < 127))) return 'text';
  return 'random';
}

describe('bench image', () => {
  it('the same size and seed give a byte-identical image; another seed does not', async () => {
    const a = path.join(dir, 'a.img');
    const b = path.join(dir, 'b.img');
    const c = path.join(dir, 'c.img');
    await generateImage(a, SIZE_MIB, 7);
    await generateImage(b, SIZE_MIB, 7);
    await generateImage(c, SIZE_MIB, 8);
    assert.equal(statSync(a).size, SIZE_MIB * MiB);
    assert.equal(await sha256File(a), await sha256File(b));
    assert.notEqual(await sha256File(a), await sha256File(c));
  });

  it('holds ~40% holes, ~40% random, ~20% text, where the layout says', async () => {
    const file = path.join(dir, 'mix.img');
    const layout = await generateImage(file, SIZE_MIB, 3);
    assert.equal(layout.mib.zero + layout.mib.random + layout.mib.text, SIZE_MIB);
    assert.ok(Math.abs(layout.mib.zero / SIZE_MIB - 0.4) < 0.02);
    assert.ok(Math.abs(layout.mib.random / SIZE_MIB - 0.4) < 0.02);
    assert.ok(Math.abs(layout.mib.text / SIZE_MIB - 0.2) < 0.02);
    const data = readFileSync(file);
    const seen = { zero: 0, random: 0, text: 0 };
    for (const e of layout.extents) {
      assert.ok(e.lengthMib >= 1 && e.lengthMib <= 32);
      for (let k = 0; k < e.lengthMib; k++) {
        const at = (e.offsetMib + k) * MiB;
        const kind = classify(data.subarray(at, at + MiB));
        assert.equal(kind, e.kind, `MiB ${e.offsetMib + k}`);
        seen[kind]++;
      }
    }
    assert.deepEqual(seen, layout.mib);
    // Zero extents are holes: far fewer bytes allocated than the apparent size (where the file
    // system reports blocks).
    const st = statSync(file);
    if (st.blocks > 0) assert.ok(st.blocks * 512 <= st.size * 0.7, `allocated ${st.blocks * 512} B`);
  });

  it('text extents are cyclic copies of the corpus from a 4 KiB-aligned start', async () => {
    const file = path.join(dir, 'text.img');
    const layout = await generateImage(file, SIZE_MIB, 5);
    const corpus = textCorpus(5);
    const doubled = Buffer.concat([corpus, corpus]);
    const data = readFileSync(file);
    const texts = layout.extents.filter((e) => e.kind === 'text');
    assert.ok(texts.length > 0);
    for (const e of texts) {
      const start = e.corpusStart as number;
      assert.equal(start % BLOCK, 0);
      const len = Math.min(e.lengthMib * MiB, CORPUS_BYTES);
      const got = data.subarray(e.offsetMib * MiB, e.offsetMib * MiB + len);
      assert.ok(got.equals(doubled.subarray(start, start + len)));
    }
  });

  it('the layout is pure and covers the image without gaps', () => {
    const one = imageLayout(2048, 1);
    assert.deepEqual(imageLayout(2048, 1), one);
    let at = 0;
    for (const e of one.extents) {
      assert.equal(e.offsetMib, at);
      at += e.lengthMib;
    }
    assert.equal(at, 2048);
    assert.deepEqual(one.mib, { zero: 819, random: 819, text: 410 });
  });
});

describe('bench modification', () => {
  it('changes 1%: an 8 MiB region plus distinct 4 KiB writes outside it, deterministically', () => {
    const size = 2048 * MiB;
    const m = planModification(size, 2);
    assert.equal(m.contiguousBytes, 8 * MiB);
    assert.equal(m.scatteredWrites, 3194);
    assert.equal(m.bytesWritten, 21_471_232);
    assert.equal(
      m.writes.reduce((n, w) => n + w.data.length, 0),
      m.bytesWritten,
    );
    const offsets = new Set<number>();
    for (const w of m.writes) {
      assert.equal(w.offset % BLOCK, 0);
      assert.ok(w.offset + w.data.length <= size);
      offsets.add(w.offset);
      if (w.data.length === BLOCK) {
        assert.ok(
          w.offset + BLOCK <= m.contiguousOffset || w.offset >= m.contiguousOffset + m.contiguousBytes,
        );
      }
    }
    assert.equal(offsets.size, m.writes.length);
    const again = planModification(size, 2);
    assert.deepEqual(
      again.writes.map((w) => w.offset),
      m.writes.map((w) => w.offset),
    );
    assert.ok(again.writes.every((w, i) => w.data.equals((m.writes[i] as { data: Buffer }).data)));
  });

  it('applies the same writes to a file in place', async () => {
    const file = path.join(dir, 'mod.img');
    await generateImage(file, 64, 1);
    const before = readFileSync(file);
    const m = planModification(before.length, 9);
    await applyModification(file, m);
    const afterMod = readFileSync(file);
    for (const w of m.writes) assert.ok(afterMod.subarray(w.offset, w.offset + w.data.length).equals(w.data));
    let differing = 0;
    for (let at = 0; at < before.length; at += BLOCK) {
      if (!before.subarray(at, at + BLOCK).equals(afterMod.subarray(at, at + BLOCK))) differing++;
    }
    // Random data over random data: practically every written block differs.
    assert.ok(differing >= (m.bytesWritten / BLOCK) * 0.99 && differing <= m.bytesWritten / BLOCK);
  });
});
