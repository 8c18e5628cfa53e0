// A snapshot's manifest: which chunk holds each non-zero block. Two levels, both stored as chunks:
// a page names the chunks of PAGE_BLOCKS consecutive blocks, the root names the pages. Zero blocks
// and empty pages are simply absent, so a sparse 500 GiB disk has a tiny manifest; and a page that
// did not change between two snapshots is the same chunk, stored once.
export const PAGE_BLOCKS = 1024;
const HASH = 32;
const PAGE_MAGIC = 0x50534e45; // "ENSP"
const ROOT_MAGIC = 0x52534e45; // "ENSR"
const PAGE_HEADER = 8;
const PAGE_ENTRY = 2 + HASH;
const ROOT_HEADER = 28;
const ROOT_ENTRY = 4 + HASH;

export class ManifestCorrupt extends Error {}

/** slot (0..PAGE_BLOCKS-1) → chunk id */
export type Page = Map<number, Buffer>;

/**
 * A page with some slots changed (a chunk id, or null: the block is zero now), encoded straight
 * from the encoded page before (undefined: none) by merging the two sorted lists: an incremental
 * changes a few slots of every page, and decoding a page into a Map and encoding it back was most
 * of the work of storing one. Returns undefined when no slot is left (the page is empty).
 */
export function patchPage(
  before: Buffer | undefined,
  changes: Map<number, Buffer | null>,
): Buffer | undefined {
  const count = before ? pageCount(before) : 0;
  const changed = [...changes.keys()].sort((a, b) => a - b);
  const out = Buffer.alloc(PAGE_HEADER + (count + changed.length) * PAGE_ENTRY);
  let entries = 0;
  /** The slot of entry `k` of the page before, checked. */
  const slotBefore = (k: number): number => {
    const kept = (before as Buffer).readUInt16LE(PAGE_HEADER + k * PAGE_ENTRY);
    if (kept >= PAGE_BLOCKS) throw new ManifestCorrupt('page slot out of range');
    return kept;
  };
  // The entries kept as they were are copied a run at a time (one copy per run between two
  // changed slots, not one per entry: a page names about a thousand blocks).
  let i = 0;
  const keep = (until: number) => {
    if (until <= i) return;
    (before as Buffer).copy(
      out,
      PAGE_HEADER + entries * PAGE_ENTRY,
      PAGE_HEADER + i * PAGE_ENTRY,
      PAGE_HEADER + until * PAGE_ENTRY,
    );
    entries += until - i;
    i = until;
  };
  for (const slot of changed) {
    let j = i;
    while (j < count && slotBefore(j) < slot) j++;
    keep(j);
    if (j < count && slotBefore(j) === slot) i = j + 1; // replaced (or removed) below
    const hash = changes.get(slot);
    if (hash) {
      const at = PAGE_HEADER + entries++ * PAGE_ENTRY;
      out.writeUInt16LE(slot, at);
      out.set(hash.subarray(0, HASH), at + 2);
    }
  }
  for (let j = i; j < count; j++) slotBefore(j);
  keep(count);
  if (entries === 0) return undefined;
  out.writeUInt32LE(PAGE_MAGIC, 0);
  out.writeUInt16LE(1, 4);
  out.writeUInt16LE(entries, 6);
  return out.subarray(0, PAGE_HEADER + entries * PAGE_ENTRY);
}

/** The number of entries of an encoded page, checked. */
function pageCount(data: Buffer): number {
  if (data.length < PAGE_HEADER || data.readUInt32LE(0) !== PAGE_MAGIC)
    throw new ManifestCorrupt('bad page header');
  const count = data.readUInt16LE(6);
  if (data.length !== PAGE_HEADER + count * PAGE_ENTRY) throw new ManifestCorrupt('bad page length');
  return count;
}

export function decodePage(data: Buffer): Page {
  const count = pageCount(data);
  const page: Page = new Map();
  for (let i = 0; i < count; i++) {
    const at = PAGE_HEADER + i * PAGE_ENTRY;
    const slot = data.readUInt16LE(at);
    if (slot >= PAGE_BLOCKS) throw new ManifestCorrupt('page slot out of range');
    page.set(slot, Buffer.from(data.subarray(at + 2, at + 2 + HASH)));
  }
  return page;
}

export interface Root {
  blockSize: number;
  sizeBytes: number;
  /** page index → page chunk id */
  pages: Map<number, Buffer>;
}

export function encodeRoot(root: Root): Buffer {
  const indexes = [...root.pages.keys()].sort((a, b) => a - b);
  const out = Buffer.alloc(ROOT_HEADER + indexes.length * ROOT_ENTRY);
  out.writeUInt32LE(ROOT_MAGIC, 0);
  out.writeUInt16LE(1, 4);
  out.writeUInt32LE(root.blockSize, 8);
  out.writeUInt32LE(PAGE_BLOCKS, 12);
  out.writeBigUInt64LE(BigInt(root.sizeBytes), 16);
  out.writeUInt32LE(indexes.length, 24);
  indexes.forEach((index, i) => {
    const at = ROOT_HEADER + i * ROOT_ENTRY;
    out.writeUInt32LE(index, at);
    (root.pages.get(index) as Buffer).copy(out, at + 4);
  });
  return out;
}

export function decodeRoot(data: Buffer): Root {
  if (data.length < ROOT_HEADER || data.readUInt32LE(0) !== ROOT_MAGIC)
    throw new ManifestCorrupt('bad root header');
  if (data.readUInt32LE(12) !== PAGE_BLOCKS) throw new ManifestCorrupt('unsupported page size');
  const count = data.readUInt32LE(24);
  if (data.length !== ROOT_HEADER + count * ROOT_ENTRY) throw new ManifestCorrupt('bad root length');
  const pages = new Map<number, Buffer>();
  for (let i = 0; i < count; i++) {
    const at = ROOT_HEADER + i * ROOT_ENTRY;
    pages.set(data.readUInt32LE(at), Buffer.from(data.subarray(at + 4, at + 4 + HASH)));
  }
  return { blockSize: data.readUInt32LE(8), sizeBytes: Number(data.readBigUInt64LE(16)), pages };
}
