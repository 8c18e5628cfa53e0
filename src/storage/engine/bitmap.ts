// A bit per block of a volume: which blocks changed since a snapshot, which hold data. Kept in
// memory and mirrored to a file; the file is the durable copy (see BitmapFile).
//
// A 500 GiB volume's map is 4 MiB, nearly all zero. It is held in pages of 64 KiB made when a bit
// in them is first set, so a sparse map of a big volume costs a few pages, not 4 MiB per map. (One
// array for the whole map relied on memory that comes zeroed and stays untouched; but once the C
// allocator reuses memory it has freed, it zeroes it by writing, and every map of every 500 GiB
// disk was 4 MiB of resident memory.)
import { open, type FileHandle } from 'node:fs/promises';

/** Bytes per page: 512 Ki bits, 8 GiB of disk at 16 KiB per block. A multiple of 4. */
const PAGE_BYTES = 64 * 1024;
/** What a page not made yet reads as. */
const ZERO_PAGE = new Uint8Array(PAGE_BYTES);

export class Bitmap {
  /** The map's bytes, in whole 32-bit words (scans skip four bytes at a time). */
  private readonly length: number;
  private pages: (Uint8Array | undefined)[];
  /** Set bits, kept up to date so that "anything set?" costs nothing on a 500 GiB volume. */
  private ones_: number;

  constructor(
    readonly bits: number,
    bytes?: Uint8Array,
  ) {
    this.length = Math.ceil(Math.ceil(bits / 8) / 4) * 4;
    this.pages = new Array<Uint8Array | undefined>(Math.ceil(this.length / PAGE_BYTES));
    this.ones_ = 0;
    if (bytes) this.load(bytes.subarray(0, Math.ceil(bits / 8)), 0);
  }

  /** Page `index`, made (zeroed) if it was not yet. */
  private page(index: number): Uint8Array {
    let page = this.pages[index];
    if (!page) {
      page = new Uint8Array(Math.min(PAGE_BYTES, this.length - index * PAGE_BYTES));
      this.pages[index] = page;
    }
    return page;
  }

  /** Puts `bytes` in at byte `at` (a multiple of 4); pages it would leave all zero are not made. */
  load(bytes: Uint8Array, at: number): void {
    for (let done = 0; done < bytes.length;) {
      const index = Math.floor((at + done) / PAGE_BYTES);
      const offset = at + done - index * PAGE_BYTES;
      const part = bytes.subarray(done, done + Math.min(bytes.length - done, PAGE_BYTES - offset));
      done += part.length;
      if (!this.pages[index] && isZero(part)) continue;
      const page = this.page(index);
      // Whole words a word at a time (offset is a multiple of 4), the tail a byte at a time.
      const pageWords = words(page);
      const whole = part.length >>> 2;
      for (let i = 0; i < whole; i++) {
        const k = i * 4;
        const value =
          ((part[k] as number) |
            ((part[k + 1] as number) << 8) |
            ((part[k + 2] as number) << 16) |
            ((part[k + 3] as number) << 24)) >>>
          0;
        const old = pageWords[(offset >>> 2) + i] as number;
        if (old === value) continue;
        pageWords[(offset >>> 2) + i] = value;
        this.ones_ += popcount32(value) - popcount32(old);
      }
      for (let i = whole * 4; i < part.length; i++) {
        const old = page[offset + i] as number;
        const value = part[i] as number;
        if (old === value) continue;
        page[offset + i] = value;
        this.ones_ += popcount32(value) - popcount32(old);
      }
    }
  }

  static byteLength(bits: number): number {
    return Math.ceil(bits / 8);
  }

  /** The bytes from `at` to `to` or the end of its page, whichever comes first (not a copy). */
  part(at: number, to: number): Uint8Array {
    const index = Math.floor(at / PAGE_BYTES);
    const offset = at - index * PAGE_BYTES;
    return (this.pages[index] ?? ZERO_PAGE).subarray(offset, offset + Math.min(to - at, PAGE_BYTES - offset));
  }

  /** Memory the map holds: its pages made so far. */
  get heldBytes(): number {
    return this.pages.reduce((sum, page) => sum + (page?.length ?? 0), 0);
  }

  has(bit: number): boolean {
    const byte = bit >>> 3;
    const page = this.pages[Math.floor(byte / PAGE_BYTES)];
    return page !== undefined && ((page[byte % PAGE_BYTES] as number) & (1 << (bit & 7))) !== 0;
  }

  count(): number {
    return this.ones_;
  }

  /** Sets bits first..last (inclusive); returns the byte range that changed, if any. */
  setRange(first: number, last: number): { from: number; to: number } | undefined {
    let from = -1;
    let to = -1;
    let page: Uint8Array | undefined;
    let pageIndex = -1;
    for (let bit = first; bit <= last; bit++) {
      const index = bit >>> 3;
      if (Math.floor(index / PAGE_BYTES) !== pageIndex) {
        pageIndex = Math.floor(index / PAGE_BYTES);
        page = this.page(pageIndex);
      }
      const mask = 1 << (bit & 7);
      const at = index % PAGE_BYTES;
      const byte = (page as Uint8Array)[at] as number;
      if ((byte & mask) === 0) {
        (page as Uint8Array)[at] = byte | mask;
        this.ones_++;
        if (from < 0) from = index;
        to = index + 1;
      }
    }
    return from < 0 ? undefined : { from, to };
  }

  /** Clears every bit (and lets go of every page). */
  clearAll(): void {
    if (this.ones_ === 0) return;
    this.pages = new Array<Uint8Array | undefined>(this.pages.length);
    this.ones_ = 0;
  }

  /** Becomes a copy of `other` (same size). */
  assign(other: Bitmap): void {
    this.pages = other.pages.map((page) => page?.slice());
    this.ones_ = other.ones_;
  }

  or(other: Bitmap): void {
    other.pages.forEach((theirs, index) => {
      if (!theirs) return;
      const a = words(this.page(index));
      const b = words(theirs);
      for (let i = 0; i < a.length; i++) if (b[i]) a[i] = (a[i] as number) | (b[i] as number);
    });
    this.ones_ = this.pages.reduce((sum, page) => sum + (page ? popcount(page) : 0), 0);
  }

  /** The words of the pages made, with the bit number of each page's first bit. */
  private *pageWords(): Generator<[Uint32Array, number]> {
    for (let index = 0; index < this.pages.length; index++) {
      const page = this.pages[index];
      if (page) yield [words(page), index * PAGE_BYTES * 8];
    }
  }

  /** The set bits in ascending order; zero words are skipped, so sparse maps are cheap. */
  *ones(): Generator<number> {
    if (this.ones_ === 0) return;
    for (const [pageWords, first] of this.pageWords()) {
      for (let w = 0; w < pageWords.length; w++) {
        let word = pageWords[w] as number;
        while (word !== 0) {
          const low = word & -word;
          const bit = first + w * 32 + (31 - Math.clz32(low));
          if (bit >= this.bits) return;
          yield bit;
          word ^= low;
        }
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
    let start = -1;
    let end = -1; // one past the last bit of the open run
    const close = () => {
      if (start >= 0 && start < this.bits) out.push([start, Math.min(end, this.bits) - start]);
      start = -1;
    };
    for (const [pageWords, first] of this.pageWords()) {
      for (let w = 0; w < pageWords.length; w++) {
        const word = pageWords[w] as number;
        const base = first + w * 32;
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
    }
    close();
    return out;
  }

  /** The byte range holding set bits, if any. */
  span(): { from: number; to: number } | undefined {
    if (this.ones_ === 0) return undefined;
    let from = -1;
    let to = -1;
    for (const [pageWords, first] of this.pageWords()) {
      for (let w = 0; w < pageWords.length; w++) {
        if (pageWords[w] === 0) continue;
        const at = first / 8 + w * 4;
        if (from < 0) from = at;
        to = at + 4;
      }
    }
    return from < 0 ? undefined : { from, to: Math.min(this.length, to) };
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
    const out = new Bitmap(this.bits);
    out.assign(this);
    return out;
  }
}

function isZero(bytes: Uint8Array): boolean {
  return Buffer.compare(bytes, ZERO_PAGE.subarray(0, bytes.length)) === 0;
}

function words(page: Uint8Array): Uint32Array {
  return new Uint32Array(page.buffer, page.byteOffset, page.length >>> 2);
}

function popcount(page: Uint8Array): number {
  const pageWords = words(page);
  let n = 0;
  for (let i = 0; i < pageWords.length; i++) if (pageWords[i] !== 0) n += popcount32(pageWords[i] as number);
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
    // A part at a time, each taken just before it is written: a page made meanwhile (by a change
    // that another persist is writing) is written as it is, never as the zeros it was before.
    for (let at = range.from; at < range.to;) {
      const part = this.map.part(at, range.to);
      const { bytesWritten } = await this.handle.write(part, 0, part.length, at);
      at += bytesWritten;
    }
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
