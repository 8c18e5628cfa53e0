// Disk images for the data-plane tests: generated with holes, random and text parts, and checks
// that a (sparse, full-size) export holds exactly an expected content.
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { open, stat } from 'node:fs/promises';

export const KiB = 1024;
export const MiB = 1024 * KiB;
export const GiB = 1024 * MiB;

export const sha256 = (data: Uint8Array): string => createHash('sha256').update(data).digest('hex');

/** `size` bytes: random and text parts with holes (zeros) between them, nothing in the last MiB. */
export function makeImage(size: number): Buffer {
  const image = Buffer.alloc(size);
  let at = 0;
  let turn = 0;
  while (at < size - MiB) {
    const length = Math.min((1 + (turn % 3)) * 256 * KiB, size - MiB - at);
    if (turn % 3 === 0) randomBytes(length).copy(image, at);
    else if (turn % 3 === 1) image.fill(`ensnap text part ${turn}\n`, at, at + length);
    // turn % 3 === 2: a hole
    at += length + (turn % 2) * 64 * KiB;
    turn++;
  }
  return image;
}

/**
 * The file is `sizeBytes` long, starts with exactly `expected`, is sparse, and holds nothing but
 * zeros after it. Reading 20 GiB of holes takes long, so the tail is checked by allocation: no
 * more blocks are allocated than `expected` has non-zero 4 KiB blocks (plus a little file-system
 * metadata), and every one of those lies in the part compared byte for byte; random windows of
 * the tail are read as well.
 */
export async function assertFileHolds(file: string, expected: Buffer, sizeBytes: number): Promise<void> {
  const info = await stat(file);
  assert.equal(info.size, sizeBytes, `${file}: size`);
  const handle = await open(file, 'r');
  try {
    const head = Buffer.alloc(expected.length);
    await handle.read(head, 0, head.length, 0);
    assert.equal(sha256(head), sha256(expected), `${file}: content differs from the expected bytes`);
    let nonZero = 0;
    const zero4k = Buffer.alloc(4 * KiB);
    for (let at = 0; at < expected.length; at += 4 * KiB)
      if (
        !expected
          .subarray(at, at + 4 * KiB)
          .equals(zero4k.subarray(0, Math.min(4 * KiB, expected.length - at)))
      )
        nonZero++;
    const allocated = info.blocks * 512;
    assert.ok(allocated < info.size, `${file}: not sparse`);
    assert.ok(
      allocated <= nonZero * 4 * KiB + 256 * KiB,
      `${file}: ${allocated} bytes allocated for ${nonZero} non-zero 4 KiB blocks`,
    );
    const window = Buffer.alloc(MiB);
    const zeroMiB = Buffer.alloc(MiB);
    const tail = sizeBytes - expected.length;
    for (let i = 0; i < 16 && tail > MiB; i++) {
      const at = expected.length + Math.floor((tail - MiB) * (i / 15));
      await handle.read(window, 0, MiB, at);
      assert.ok(window.equals(zeroMiB), `${file}: data at ${at}, past the expected content`);
    }
  } finally {
    await handle.close();
  }
}
