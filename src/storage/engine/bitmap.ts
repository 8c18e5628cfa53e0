// A bit per block of a volume: which blocks changed since a snapshot, which hold data. Kept in
// memory and mirrored to a file; the file is the durable copy (see BitmapFile).
//
// A 500 GiB volume's map is 4 MiB, nearly all zero. Its memory comes zeroed from the system and
// costs nothing until a page of it is written, so the map writes only words that change: copied,
// loaded or cleared, a sparse map stays a few resident pages instead of 4 MiB per map.
import { open, type FileHandle } from 'node:fs/promises';

export class Bitmap {
  readonly bytes: Uint8Array;
  /** Set bits, kept up to date so that "anything set?" costs nothing on a 500 GiB volume. */
  private ones_: number;

  constructor(
    readonly bits: number,
    bytes?: Uint8Array,
  ) {
    // Whole 32-bit words, so that scans can skip four bytes at a time.
    this.bytes = new Uint8Array(Math.ceil(Math.ceil(bits / 8) / 4) * 4);
    this.ones_ = 0;
    if (bytes) this.load(bytes.subarray(0, Math.ceil(bits / 8)), 0);
  }

  /** Puts `bytes` in at byte `at` (a multiple of 4), writing only the words that change. */
  load(bytes: Uint8Array, at: number): void {
    const words = this.words();
    const base = at >>> 2;
    const whole = bytes.length >>> 2;
    for (let i = 0; i < whole; i++) {
      const k = i * 4;
      const value =
        ((bytes[k] as number) |
          ((bytes[k + 1] as number) << 8) |
          ((bytes[k + 2] as number) << 16) |
          ((bytes[k + 3] as number) << 24)) >>>
        0;
      const old = words[base + i] as number;
      if (old === value) continue;
      words[base + i] = value;
      this.ones_ += popcount32(value) - popcount32(old);
    }
    for (let i = whole * 4; i < bytes.length; i++) {
      const old = this.bytes[at + i] as number;
      const value = bytes[i] as number;
      if (old === value) continue;
      this.bytes[at + i] = value;
      this.ones_ += popcount32(value) - popcount32(old);
    }
  }

  static byteLength(bits: number): number {
    return Math.ceil(bits / 8);
  }

  has(bit: number): boolean {
    return ((this.bytes[bit >>> 3] as number) & (1 << (bit & 7))) !== 0;
  }

  count(): number {
    return this.ones_;
  }

  /** Sets bits first..last (inclusive); returns the byte range that changed, if any. */
  setRange(first: number, last: number): { from: number; to: number } | undefined {
    let from = -1;
    let to = -1;
    for (let bit = first; bit <= last; bit++) {
      const index = bit >>> 3;
      const mask = 1 << (bit & 7);
      const byte = this.bytes[index] as number;
      if ((byte & mask) === 0) {
        this.bytes[index] = byte | mask;
        this.ones_++;
        if (from < 0) from = index;
        to = index + 1;
      }
    }
    return from < 0 ? undefined : { from, to };
  }

  clearAll(): void {
    if (this.ones_ === 0) return;
    const words = this.words();
    for (let i = 0; i < words.length; i++) if (words[i] !== 0) words[i] = 0;
    this.ones_ = 0;
  }

  /** Becomes a copy of `other` (same size). */
  assign(other: Bitmap): void {
    this.load(other.bytes.subarray(0, this.bytes.length), 0);
  }

  or(other: Bitmap): void {
    const a = this.words();
    const b = other.words();
    for (let i = 0; i < a.length; i++) if (b[i]) a[i] = (a[i] as number) | (b[i] as number);
    this.ones_ = popcount(this.bytes);
  }

  private words(): Uint32Array {
    return new Uint32Array(this.bytes.buffer, this.bytes.byteOffset, this.bytes.length >>> 2);
  }

  /** The set bits in ascending order; zero words are skipped, so sparse maps are cheap. */
  *ones(): Generator<number> {
    if (this.ones_ === 0) return;
    const words = this.words();
    for (let w = 0; w < words.length; w++) {
      let word = words[w] as number;
      while (word !== 0) {
        const low = word & -word;
        const bit = w * 32 + (31 - Math.clz32(low));
        if (bit >= this.bits) return;
        yield bit;
        word ^= low;
      }
    }
  }

  /**
   * The set bits as runs of consecutive bits, in ascending order: [start, length] pairs. Zero
   * words are skipped and all-ones words taken whole, so a map of long runs (a disk written in
   * large extents) costs a step per word, not per bit.
   */
  runs(): [start: number, length: number][] {
    const out: [number, number][] = [];
    if (this.ones_ === 0) return out;
    const words = this.words();
    let start = -1;
    let end = -1; // one past the last bit of the open run
    const close = () => {
      if (start >= 0 && start < this.bits) out.push([start, Math.min(end, this.bits) - start]);
      start = -1;
    };
    for (let w = 0; w < words.length; w++) {
      const word = words[w] as number;
      const base = w * 32;
      if (word === 0) continue;
      if (word === 0xffffffff) {
        if (start >= 0 && end === base) end = base + 32;
        else {
          close();
          start = base;
          end = base + 32;
        }
        continue;
      }
      for (let rest = word; rest !== 0;) {
        const low = rest & -rest;
        const bit = base + (31 - Math.clz32(low));
        if (start >= 0 && end === bit) end = bit + 1;
        else {
          close();
          start = bit;
          end = bit + 1;
        }
        rest ^= low;
      }
    }
    close();
    return out;
  }

  /** The byte range holding set bits, if any. */
  span(): { from: number; to: number } | undefined {
    if (this.ones_ === 0) return undefined;
    const words = this.words();
    let first = 0;
    while (words[first] === 0) first++;
    let last = words.length - 1;
    while (words[last] === 0) last--;
    return { from: first * 4, to: Math.min(this.bytes.length, last * 4 + 4) };
  }

  /** The set bits as (start, length) runs of u32: tiny for the sparse maps of big volumes. */
  toRuns(): Buffer {
    const runs = this.runs();
    const out = Buffer.alloc(runs.length * 8);
    runs.forEach(([start, length], i) => {
      out.writeUInt32LE(start, i * 8);
      out.writeUInt32LE(length, i * 8 + 4);
    });
    return out;
  }

  static fromRuns(bits: number, runs: Buffer): Bitmap {
    const map = new Bitmap(bits);
    for (let at = 0; at + 8 <= runs.length; at += 8) {
      const start = runs.readUInt32LE(at);
      map.setRange(start, Math.min(bits - 1, start + runs.readUInt32LE(at + 4) - 1));
    }
    return map;
  }

  copy(): Bitmap {
    return new Bitmap(this.bits, this.bytes);
  }
}

function popcount(bytes: Uint8Array): number {
  const words = new Uint32Array(bytes.buffer, bytes.byteOffset, bytes.length >>> 2);
  let n = 0;
  for (let i = 0; i < words.length; i++) if (words[i] !== 0) n += popcount32(words[i] as number);
  return n;
}

function popcount32(word: number): number {
  let v = word - ((word >>> 1) & 0x55555555);
  v = (v & 0x33333333) + ((v >>> 2) & 0x33333333);
  return (((v + (v >>> 4)) & 0x0f0f0f0f) * 0x01010101) >>> 24;
}

const OPEN_PIECE_BYTES = 256 * 1024;

/** A bitmap mirrored to a file: a change is written and made durable before it is relied on. */
export class BitmapFile {
  private constructor(
    readonly map: Bitmap,
    private readonly handle: FileHandle,
  ) {}

  static async open(path: string, bits: number): Promise<BitmapFile> {
    const handle = await open(path, 'r+');
    const map = new Bitmap(bits);
    // Read a piece at a time, so that a big map is never held twice.
    const length = Bitmap.byteLength(bits);
    const piece = new Uint8Array(Math.min(length, OPEN_PIECE_BYTES));
    for (let at = 0; at < length; at += piece.length) {
      const { bytesRead } = await handle.read(piece, 0, Math.min(piece.length, length - at), at);
      map.load(piece.subarray(0, bytesRead), at);
    }
    return new BitmapFile(map, handle);
  }

  /** A new, empty map in a new file (its size set, flushed); nothing to read back. */
  static async create(path: string, bits: number): Promise<BitmapFile> {
    const handle = await open(path, 'w+', 0o600);
    await handle.truncate(Bitmap.byteLength(bits));
    await handle.sync();
    return new BitmapFile(new Bitmap(bits), handle);
  }

  /** Writes the bytes from..to and flushes them to the device. */
  async persist(range: { from: number; to: number }): Promise<void> {
    await this.handle.write(this.map.bytes, range.from, range.to - range.from, range.from);
    await this.handle.datasync();
  }

  /** Writes the whole map (the file holds exactly Bitmap.byteLength(bits) bytes). */
  async persistAll(): Promise<void> {
    await this.persist({ from: 0, to: Bitmap.byteLength(this.map.bits) });
  }

  close(): Promise<void> {
    return this.handle.close();
  }
}
