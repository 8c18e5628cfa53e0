// The benchmark's deterministic change between the full and the incremental snapshot: `fraction`
// (1%) of the image rewritten with random data, as one contiguous region (8 MiB, or half the total
// on images too small for that) plus distinct scattered 4 KiB writes at 4 KiB-aligned offsets
// outside it. At 2 GiB: 8 MiB + 3194 x 4 KiB = 21,471,232 B.
//
// `planModification` returns the writes; restic and borg back up the file after
// `applyModification` wrote them in place, ensnap receives the same writes through its block
// write API.
//
// CLI: node dist/bench/snapshot/modify.js IMG [seed=2] [fraction=0.01]  (modifies IMG in place)
import { open, stat } from 'node:fs/promises';
import { pathToFileURL } from 'node:url';
import { BLOCK, MiB, SeededRandom } from './image.js';

export const CONTIGUOUS_BYTES = 8 * MiB;

export interface Write {
  offset: number;
  data: Buffer;
}

export interface Modification {
  /** Sorted by offset; the contiguous region is one write. */
  writes: Write[];
  contiguousOffset: number;
  contiguousBytes: number;
  scatteredWrites: number;
  bytesWritten: number;
}

/** The writes that change `fraction` of a `sizeBytes` image, for `seed`. Pure. */
export function planModification(sizeBytes: number, seed: number, fraction = 0.01): Modification {
  if (sizeBytes % BLOCK !== 0 || sizeBytes < 16 * BLOCK) throw new RangeError('size must be 4 KiB blocks');
  if (!(fraction > 0 && fraction <= 0.5)) throw new RangeError('fraction must be in (0, 0.5]');
  const blocks = sizeBytes / BLOCK;
  const totalBlocks = Math.max(2, Math.floor((sizeBytes * fraction) / BLOCK));
  const contiguousBlocks = Math.min(CONTIGUOUS_BYTES / BLOCK, Math.floor(totalBlocks / 2));
  const scattered = totalBlocks - contiguousBlocks;
  const rng = new SeededRandom('modify', seed);
  const first = rng.int(0, blocks - contiguousBlocks);
  const end = first + contiguousBlocks;
  const chosen = new Set<number>();
  while (chosen.size < scattered) {
    const b = rng.int(0, blocks - 1);
    if (b < first || b >= end) chosen.add(b);
  }
  const data = new SeededRandom('modify-data', seed);
  const writes: Write[] = [{ offset: first * BLOCK, data: data.bytes(contiguousBlocks * BLOCK) }];
  for (const b of chosen) writes.push({ offset: b * BLOCK, data: data.bytes(BLOCK) });
  writes.sort((a, b) => a.offset - b.offset);
  return {
    writes,
    contiguousOffset: first * BLOCK,
    contiguousBytes: contiguousBlocks * BLOCK,
    scatteredWrites: scattered,
    bytesWritten: totalBlocks * BLOCK,
  };
}

/** Writes every write of `modification` into `file`, in place. */
export async function applyModification(file: string, modification: Modification): Promise<void> {
  const handle = await open(file, 'r+');
  try {
    for (const w of modification.writes) await handle.write(w.data, 0, w.data.length, w.offset);
  } finally {
    await handle.close();
  }
}

async function cli(argv: string[]): Promise<void> {
  const [file, seedArg = '2', fractionArg = '0.01'] = argv;
  const seed = Number(seedArg);
  const fraction = Number(fractionArg);
  if (!file || !Number.isInteger(seed) || seed < 0 || !Number.isFinite(fraction)) {
    process.stderr.write('usage: node dist/bench/snapshot/modify.js IMG [seed=2] [fraction=0.01]\n');
    process.exitCode = 2;
    return;
  }
  const size = (await stat(file)).size;
  const m = planModification(size, seed, fraction);
  await applyModification(file, m);
  const { contiguousOffset, contiguousBytes, scatteredWrites, bytesWritten } = m;
  process.stdout.write(
    JSON.stringify({ file, size, seed, contiguousOffset, contiguousBytes, scatteredWrites, bytesWritten }) +
      '\n',
  );
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  cli(process.argv.slice(2)).catch((error: unknown) => {
    process.stderr.write(`modify: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 1;
  });
}
