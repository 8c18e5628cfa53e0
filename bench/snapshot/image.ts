// The snapshot benchmark's test disk image: deterministic, sparse, a mix of what real disks hold.
//
// Layout, at 1 MiB granularity: extents of 1..32 MiB, shuffled; about 40% of the MiB are zero
// extents (left as holes), 40% incompressible extents (an AES-256-CTR keystream) and 20% text
// extents. Every text extent is a contiguous, cyclic copy of one 4 MiB pseudo-text corpus (log
// lines built from a seeded vocabulary) that starts at a seeded 4 KiB-aligned offset, so text both
// compresses (~3x) and repeats across extents (dedup finds it at 4 KiB granularity).
//
// Every random choice comes from `SeededRandom`, an AES-256-CTR keystream keyed by a label and the
// seed, so the same (size, seed) gives a byte-identical image on any machine and Node version.
//
// CLI: node dist/bench/snapshot/image.js OUT [MiB=2048] [seed=1]
import { createCipheriv, createHash, type Cipher } from 'node:crypto';
import { open } from 'node:fs/promises';
import { pathToFileURL } from 'node:url';

export const MiB = 1024 * 1024;
export const BLOCK = 4096;
export const CORPUS_BYTES = 4 * MiB;
const MAX_EXTENT_MIB = 32;

/** A deterministic stream of random numbers and bytes: AES-256-CTR keyed by sha256(label:seed). */
export class SeededRandom {
  private readonly cipher: Cipher;
  private pool: Buffer = Buffer.alloc(0);
  private at = 0;

  constructor(label: string, seed: number) {
    const key = createHash('sha256').update(`ensnap-bench:${label}:${seed}`).digest();
    this.cipher = createCipheriv('aes-256-ctr', key, Buffer.alloc(16));
  }

  /** `n` keystream bytes (a fresh buffer). */
  bytes(n: number): Buffer {
    return this.cipher.update(Buffer.alloc(n));
  }

  /** A uniform 32-bit unsigned integer. */
  uint32(): number {
    if (this.at + 4 > this.pool.length) {
      this.pool = this.bytes(64 * 1024);
      this.at = 0;
    }
    const v = this.pool.readUInt32LE(this.at);
    this.at += 4;
    return v;
  }

  /** A uniform float in [0, 1). */
  float(): number {
    return this.uint32() / 2 ** 32;
  }

  /** A uniform integer in [lo, hi], both included (rejection sampling: no modulo bias). */
  int(lo: number, hi: number): number {
    const span = hi - lo + 1;
    if (!Number.isInteger(span) || span < 1 || span > 2 ** 32) throw new RangeError(`bad range ${lo}..${hi}`);
    const limit = 2 ** 32 - (2 ** 32 % span);
    for (;;) {
      const v = this.uint32();
      if (v < limit) return lo + (v % span);
    }
  }

  /** Fisher-Yates, in place. */
  shuffle<T>(items: T[]): T[] {
    for (let i = items.length - 1; i > 0; i--) {
      const j = this.int(0, i);
      [items[i], items[j]] = [items[j] as T, items[i] as T];
    }
    return items;
  }
}

export type ExtentKind = 'zero' | 'random' | 'text';

export interface Extent {
  kind: ExtentKind;
  /** Offset and length in MiB. */
  offsetMib: number;
  lengthMib: number;
  /** Text extents: where in the corpus the copy starts (4 KiB aligned). */
  corpusStart?: number;
}

export interface ImageLayout {
  sizeMib: number;
  seed: number;
  extents: Extent[];
  mib: Record<ExtentKind, number>;
}

/** The 4 MiB pseudo-text corpus for `seed`: log lines from a seeded, Zipf-like vocabulary. */
export function textCorpus(seed: number): Buffer {
  const rng = new SeededRandom('corpus', seed);
  // Letters weighted roughly as in English text.
  const letters = 'eeeeeeetttttaaaaooooiiiinnnnssssrrrhhhllldddcccuummffggppwwyybbvkjxqz';
  const word = (min: number, max: number) => {
    let w = '';
    for (let n = rng.int(min, max); n > 0; n--) w += letters[rng.int(0, letters.length - 1)];
    return w;
  };
  const vocabulary = Array.from({ length: 3000 }, () => word(2, 11));
  const hosts = Array.from({ length: 12 }, (_, i) => `edge-${word(3, 6)}-${String(i).padStart(2, '0')}`);
  const services = Array.from({ length: 9 }, () => word(4, 9));
  const levels = ['INFO', 'INFO', 'INFO', 'INFO', 'DEBUG', 'DEBUG', 'WARN', 'ERROR'];
  // Rank-skewed pick: low ranks far more often (u^2.5 -> a heavy head, a long tail).
  const pick = (list: string[]) => list[Math.floor(rng.float() ** 2.5 * list.length)] as string;
  const out = Buffer.alloc(CORPUS_BYTES);
  let at = 0;
  let clock = 1_700_000_000 + rng.int(0, 10_000_000);
  while (at < CORPUS_BYTES) {
    clock += rng.int(0, 3);
    const time = new Date(clock * 1000).toISOString().slice(0, 19);
    let line = `${time} ${pick(hosts)} ${pick(services)}[${rng.int(100, 4000)}] ${pick(levels)} `;
    for (let n = rng.int(5, 16); n > 0; n--) line += pick(vocabulary) + ' ';
    if (rng.int(0, 3) === 0) line += `id=${rng.uint32().toString(16).padStart(8, '0')} `;
    line += `took ${rng.int(0, 999)}ms\n`;
    at += out.write(line, at, 'latin1');
  }
  return out;
}

/** Where each extent goes, for (sizeMib, seed). Pure: nothing is written. */
export function imageLayout(sizeMib: number, seed: number): ImageLayout {
  if (!Number.isInteger(sizeMib) || sizeMib < 1) throw new RangeError(`image size must be >= 1 MiB`);
  const rng = new SeededRandom('layout', seed);
  const zero = Math.round(sizeMib * 0.4);
  const random = Math.round(sizeMib * 0.4);
  const mib: Record<ExtentKind, number> = { zero, random, text: sizeMib - zero - random };
  const pieces: { kind: ExtentKind; lengthMib: number }[] = [];
  for (const kind of ['zero', 'random', 'text'] as const) {
    for (let left = mib[kind]; left > 0;) {
      const lengthMib = Math.min(left, rng.int(1, MAX_EXTENT_MIB));
      pieces.push({ kind, lengthMib });
      left -= lengthMib;
    }
  }
  rng.shuffle(pieces);
  let offsetMib = 0;
  const extents = pieces.map((p): Extent => {
    const extent: Extent = { ...p, offsetMib };
    if (p.kind === 'text') extent.corpusStart = rng.int(0, CORPUS_BYTES / BLOCK - 1) * BLOCK;
    offsetMib += p.lengthMib;
    return extent;
  });
  return { sizeMib, seed, extents, mib };
}

/** Writes the image to `file` (created or truncated; zero extents stay holes). */
export async function generateImage(file: string, sizeMib: number, seed: number): Promise<ImageLayout> {
  const layout = imageLayout(sizeMib, seed);
  const corpus = textCorpus(seed);
  const data = new SeededRandom('data', seed);
  const handle = await open(file, 'w');
  try {
    await handle.truncate(sizeMib * MiB);
    const piece = Buffer.alloc(MiB);
    for (const extent of layout.extents) {
      if (extent.kind === 'zero') continue;
      let corpusAt = extent.corpusStart ?? 0;
      for (let k = 0; k < extent.lengthMib; k++) {
        let chunk: Buffer;
        if (extent.kind === 'random') {
          chunk = data.bytes(MiB);
        } else {
          // The cyclic copy continues across the extent's MiB: wrap at the corpus' end.
          const first = Math.min(MiB, CORPUS_BYTES - corpusAt);
          corpus.copy(piece, 0, corpusAt, corpusAt + first);
          if (first < MiB) corpus.copy(piece, first, 0, MiB - first);
          corpusAt = (corpusAt + MiB) % CORPUS_BYTES;
          chunk = piece;
        }
        await handle.write(chunk, 0, MiB, (extent.offsetMib + k) * MiB);
      }
    }
  } finally {
    await handle.close();
  }
  return layout;
}

async function cli(argv: string[]): Promise<void> {
  const [out, sizeArg = '2048', seedArg = '1'] = argv;
  const sizeMib = Number(sizeArg);
  const seed = Number(seedArg);
  if (!out || !Number.isInteger(sizeMib) || sizeMib < 1 || !Number.isInteger(seed) || seed < 0) {
    process.stderr.write('usage: node dist/bench/snapshot/image.js OUT [MiB=2048] [seed=1]\n');
    process.exitCode = 2;
    return;
  }
  const started = performance.now();
  const layout = await generateImage(out, sizeMib, seed);
  const seconds = (performance.now() - started) / 1000;
  process.stdout.write(
    JSON.stringify({
      out,
      sizeMib,
      seed,
      mibZero: layout.mib.zero,
      mibRandom: layout.mib.random,
      mibText: layout.mib.text,
      extents: layout.extents.length,
      seconds: Number(seconds.toFixed(3)),
    }) + '\n',
  );
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  cli(process.argv.slice(2)).catch((error: unknown) => {
    process.stderr.write(`image: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 1;
  });
}
