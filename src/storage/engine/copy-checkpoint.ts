// What a snapshot copy commits after each pack it wrote: the pack's chunks entered in the index,
// the pages finished with it, the bytes it added. The commit runs on a hash worker's connection
// (HashPool.commitCheckpoint): the SQL for a pack's chunks and its commit were a quarter of a full
// copy's event loop. It crosses the thread boundary as a few flat arrays (transferred, not copied),
// not as thousands of objects to clone, and is committed from them.
import { ChunkKind, Codec, partIds, RECORD_HEADER_BYTES, type NewChunk } from './chunk-store.js';
import { decodeRoot } from './manifest.js';
import type { EngineDb } from './engine-db.js';

export interface FinishedPage {
  page: number;
  /** The rebuilt page's chunk id, or null when the page has become empty. */
  hash: Buffer | null;
}

export type Flushed = { packId: string; bytes: number; chunks: NewChunk[] } | undefined;

export interface CopyCheckpoint {
  snapshotId: string;
  flushed: Flushed;
  pages: FinishedPage[];
}

/** A CopyCheckpoint as it is posted to a worker. */
export interface PostedCheckpoint {
  snapshotId: string;
  /** The pack and its size; absent when the checkpoint wrote no pack. */
  pack?: { id: string; bytes: number };
  /** 32 bytes per chunk, then 32 per finished page (zeros for a page that became empty). */
  ids: ArrayBuffer;
  /** Per chunk: kind, offset, stored length, raw length, codec. */
  chunks: Float64Array;
  /**
   * The bytes of each chunk that holds others once indexed, by index: roots (the pages they name)
   * and blocks stored as their parts (their sectors).
   */
  holders: { at: number; data: Uint8Array }[];
  /** Per finished page: its number, and 1 if it has an id (0: it became empty). */
  pages: Float64Array;
}

const CHUNK_FIELDS = 5;
const PAGE_FIELDS = 2;

/** Flattens a checkpoint for postMessage; the returned buffers are to be transferred. */
export function postCheckpoint({ snapshotId, flushed, pages }: CopyCheckpoint): {
  posted: PostedCheckpoint;
  transfer: ArrayBuffer[];
} {
  const list = flushed?.chunks ?? [];
  const ids = Buffer.from(new ArrayBuffer((list.length + pages.length) * 32));
  const chunks = new Float64Array(list.length * CHUNK_FIELDS);
  const holders: PostedCheckpoint['holders'] = [];
  list.forEach((c, i) => {
    c.hash.copy(ids, i * 32);
    const f = i * CHUNK_FIELDS;
    chunks[f] = c.kind;
    chunks[f + 1] = c.offset;
    chunks[f + 2] = c.storedLen;
    chunks[f + 3] = c.rawLen;
    chunks[f + 4] = c.codec;
    // Copied into memory of its own: a view's whole buffer would be cloned with it.
    if (c.data) holders.push({ at: i, data: Uint8Array.from(c.data) });
  });
  const pageFields = new Float64Array(pages.length * PAGE_FIELDS);
  pages.forEach(({ page, hash }, i) => {
    hash?.copy(ids, (list.length + i) * 32);
    pageFields[i * PAGE_FIELDS] = page;
    pageFields[i * PAGE_FIELDS + 1] = hash ? 1 : 0;
  });
  const posted: PostedCheckpoint = {
    snapshotId,
    ...(flushed && { pack: { id: flushed.packId, bytes: flushed.bytes } }),
    ids: ids.buffer as ArrayBuffer,
    chunks,
    holders,
    pages: pageFields,
  };
  return { posted, transfer: [posted.ids, chunks.buffer as ArrayBuffer, pageFields.buffer as ArrayBuffer] };
}

/**
 * Commits a posted checkpoint, in one transaction, from its flat arrays as they came: its pack's
 * chunks entered in the index (each new one with no holders yet; each new root takes a hold on
 * its pages and each new block stored as its parts on its sectors; each new page is entered
 * unsettled: its entries' holds are counted later, by the garbage collector, see engine-db.ts),
 * the pages finished with it held, the bytes it added counted. No object is made per chunk: 2,000 of them per pack, kept until the commit's end,
 * outlived the worker's young generation and grew its heap by half a MiB a pack. Fails, changing
 * nothing, if the snapshot is gone (its copy was given up meanwhile): its pages would hold chunks
 * for nobody.
 */
export function commitCheckpoint(db: EngineDb, posted: PostedCheckpoint): void {
  const ids = Buffer.from(posted.ids);
  const count = posted.chunks.length / CHUNK_FIELDS;
  /** The id of chunk or page `i` (ids of the pages follow the chunks'). */
  const id = (i: number) => ids.subarray(i * 32, i * 32 + 32);
  db.transaction(() => {
    const current = db.snapshot(posted.snapshotId);
    if (!current) throw new Error(`snapshot ${posted.snapshotId} is no longer being copied`);
    if (posted.pack) indexPack(db, posted.pack, ids, posted.chunks, posted.holders);
    for (let i = 0; i < posted.pages.length / PAGE_FIELDS; i++) {
      const hash = posted.pages[i * PAGE_FIELDS + 1] ? id(count + i) : null;
      db.insertCheckpointedPage(posted.snapshotId, posted.pages[i * PAGE_FIELDS] as number, hash);
      if (hash) db.addRefs(hash, 1);
    }
    db.updateSnapshot({ ...current, addedBytes: current.addedBytes + (posted.pack?.bytes ?? 0) });
  });
}

/** Enters a written pack's chunks in the index (see commitCheckpoint). */
function indexPack(
  db: EngineDb,
  pack: { id: string; bytes: number },
  ids: Buffer,
  fields: Float64Array,
  holders: PostedCheckpoint['holders'],
): void {
  // The holds the new holders take, counted first, so that a page or sector created here is
  // inserted with its count instead of inserted and then updated. (Whether any other chunk is new,
  // its insert says.)
  const holds = new Map<string, { hash: Buffer; n: number }>();
  for (const { at, data } of holders) {
    if (db.hasChunk(ids.subarray(at * 32, at * 32 + 32))) continue;
    const bytes = Buffer.from(data.buffer, data.byteOffset, data.length);
    const held =
      fields[at * CHUNK_FIELDS + 4] === Codec.Parts ? partIds(bytes) : decodeRoot(bytes).pages.values();
    for (const hash of held) {
      const key = hash.toString('latin1');
      const entry = holds.get(key);
      if (entry) entry.n++;
      else holds.set(key, { hash, n: 1 });
    }
  }
  db.insertPack(pack.id, pack.bytes, 0); // first: its chunks name it
  // One row, its id copied in for each chunk (the statements copy what they are given).
  const row = {
    hash: Buffer.alloc(32),
    kind: 0,
    pack: pack.id,
    offset: 0,
    storedLen: 0,
    rawLen: 0,
    codec: 0,
  };
  let live = 0;
  for (let i = 0; i < fields.length / CHUNK_FIELDS; i++) {
    ids.copy(row.hash, 0, i * 32, i * 32 + 32);
    const f = i * CHUNK_FIELDS;
    row.kind = fields[f] as number;
    row.offset = fields[f + 1] as number;
    row.storedLen = fields[f + 2] as number;
    row.rawLen = fields[f + 3] as number;
    row.codec = fields[f + 4] as number;
    const key = holds.size > 0 ? row.hash.toString('latin1') : '';
    if (!db.insertChunk(row, holds.get(key)?.n ?? 0)) continue;
    if (row.kind === ChunkKind.Page) db.addUnsettled(row.hash);
    holds.delete(key);
    live += RECORD_HEADER_BYTES + row.storedLen;
  }
  db.addPackLive(pack.id, live);
  for (const { hash, n } of holds.values()) db.addRefs(hash, n);
}
