// A bit per block of a volume: which blocks changed since a snapshot, which hold data. Kept in
// memory and mirrored to a file; the file is the durable copy (see BitmapFile).
import { open, type FileHandle } from 'node:fs/promises';

export class Bitmap {
  readonly bytes: Uint8Array;
  /**
   * How many bits are set, kept up to date by setRange and clear (a freeze asks on every
   * snapshot, and counting a 20 GiB volume's map byte by byte costs about 0.2 ms); -1 when
   * unknown (after `or`, or for bytes handed in), then counted on the next call.
   */
  private setCount = -1;

  constructor(
    readonly bits: number,
    bytes?: Uint8Array,
  ) {
    this.bytes = bytes ?? new Uint8Array(Math.ceil(bits / 8));
    if (!bytes) this.setCount = 0;
  }

  static byteLength(bits: number): number {
    return Math.ceil(bits / 8);
  }

  has(bit: number): boolean {
    return ((this.bytes[bit >>> 3] as number) & (1 << (bit & 7))) !== 0;
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
        if (from < 0) from = index;
        to = index + 1;
        if (this.setCount >= 0) this.setCount++;
      }
    }
    return from < 0 ? undefined : { from, to };
  }

  or(other: Bitmap): void {
    for (let i = 0; i < this.bytes.length; i++)
      this.bytes[i] = (this.bytes[i] as number) | (other.bytes[i] ?? 0);
    this.setCount = -1;
  }

  /** Clears every bit. */
  clear(): void {
    this.bytes.fill(0);
    this.setCount = 0;
  }

  /** The set bits in ascending order; whole zero words are skipped, so sparse maps are cheap. */
  *ones(): Generator<number> {
    const words = this.bytes.length >>> 2;
    const view = new DataView(this.bytes.buffer, this.bytes.byteOffset, this.bytes.byteLength);
    for (let w = 0; w < words; w++) {
      if (view.getUint32(w * 4, true) === 0) continue;
      for (let bit = w * 32; bit < w * 32 + 32; bit++) if (this.has(bit)) yield bit;
    }
    for (let bit = words * 32; bit < this.bits; bit++) if (this.has(bit)) yield bit;
  }

  count(): number {
    if (this.setCount >= 0) return this.setCount;
    let n = 0;
    for (const byte of this.bytes) {
      let b = byte;
      while (b) {
        b &= b - 1;
        n++;
      }
    }
    this.setCount = n;
    return n;
  }

  /** The set bits as (start, length) runs of u32: tiny for the sparse maps of big volumes. */
  toRuns(): Buffer {
    const runs: number[] = [];
    let start = -1;
    let previous = -2;
    for (const bit of this.ones()) {
      if (bit !== previous + 1) {
        if (start >= 0) runs.push(start, previous - start + 1);
        start = bit;
      }
      previous = bit;
    }
    if (start >= 0) runs.push(start, previous - start + 1);
    const out = Buffer.alloc(runs.length * 4);
    runs.forEach((value, i) => out.writeUInt32LE(value, i * 4));
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
    const copy = new Bitmap(this.bits, this.bytes.slice());
    copy.setCount = this.setCount;
    return copy;
  }
}

/** A bitmap mirrored to a file: a change is written and made durable before it is relied on. */
export class BitmapFile {
  private constructor(
    readonly map: Bitmap,
    private readonly handle: FileHandle,
  ) {}

  static async open(path: string, bits: number): Promise<BitmapFile> {
    const handle = await open(path, 'r+');
    const bytes = new Uint8Array(Bitmap.byteLength(bits));
    await handle.read(bytes, 0, bytes.length, 0);
    return new BitmapFile(new Bitmap(bits, bytes), handle);
  }

  /** Writes the bytes from..to and flushes them to the device. */
  async persist(range: { from: number; to: number }): Promise<void> {
    await this.handle.write(this.map.bytes, range.from, range.to - range.from, range.from);
    await this.handle.datasync();
  }

  async persistAll(): Promise<void> {
    await this.persist({ from: 0, to: this.map.bytes.length });
  }

  close(): Promise<void> {
    return this.handle.close();
  }
}
