// What a snapshot copy commits after each pack it wrote: the pack's chunks entered in the index,
// the pages finished with it, the bytes it added. The commit runs on a hash worker's connection
// (HashPool.commitCheckpoint): the SQL for a pack's 500 chunks and its commit were a quarter of a
// full copy's event loop. It crosses the thread boundary as a few flat arrays (transferred, not
// copied), not as 500 objects to clone.
import { ChunkKind, indexPack, type NewChunk } from './chunk-store.js';
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
  /** The bytes of each root among the chunks (indexPack reads the pages they name), by index. */
  roots: { at: number; data: Uint8Array }[];
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
  const roots: PostedCheckpoint['roots'] = [];
  list.forEach((c, i) => {
    c.hash.copy(ids, i * 32);
    chunks.set([c.kind, c.offset, c.storedLen, c.rawLen, c.codec], i * CHUNK_FIELDS);
    if (c.kind === ChunkKind.Root) roots.push({ at: i, data: c.data as Buffer });
  });
  const pageFields = new Float64Array(pages.length * PAGE_FIELDS);
  pages.forEach(({ page, hash }, i) => {
    hash?.copy(ids, (list.length + i) * 32);
    pageFields.set([page, hash ? 1 : 0], i * PAGE_FIELDS);
  });
  const posted: PostedCheckpoint = {
    snapshotId,
    ...(flushed && { pack: { id: flushed.packId, bytes: flushed.bytes } }),
    ids: ids.buffer as ArrayBuffer,
    chunks,
    roots,
    pages: pageFields,
  };
  return { posted, transfer: [posted.ids, chunks.buffer as ArrayBuffer, pageFields.buffer as ArrayBuffer] };
}

/** The checkpoint a worker was posted. */
export function receiveCheckpoint(posted: PostedCheckpoint): CopyCheckpoint {
  const ids = Buffer.from(posted.ids);
  const count = posted.chunks.length / CHUNK_FIELDS;
  const roots = new Map(
    posted.roots.map(({ at, data }) => [at, Buffer.from(data.buffer, data.byteOffset, data.length)]),
  );
  const chunks: NewChunk[] = [];
  for (let i = 0; i < count; i++) {
    const f = posted.chunks.subarray(i * CHUNK_FIELDS, (i + 1) * CHUNK_FIELDS);
    const data = roots.get(i);
    chunks.push({
      hash: ids.subarray(i * 32, i * 32 + 32),
      kind: f[0] as number,
      pack: posted.pack?.id ?? '',
      offset: f[1] as number,
      storedLen: f[2] as number,
      rawLen: f[3] as number,
      codec: f[4] as number,
      ...(data && { data }),
    });
  }
  const pages: FinishedPage[] = [];
  for (let i = 0; i < posted.pages.length / PAGE_FIELDS; i++) {
    const at = (count + i) * 32;
    pages.push({
      page: posted.pages[i * PAGE_FIELDS] as number,
      hash: posted.pages[i * PAGE_FIELDS + 1] ? ids.subarray(at, at + 32) : null,
    });
  }
  const flushed = posted.pack && { packId: posted.pack.id, bytes: posted.pack.bytes, chunks };
  return { snapshotId: posted.snapshotId, flushed, pages };
}

/**
 * Commits a checkpoint, in one transaction. Fails, changing nothing, if the snapshot is gone (its
 * copy was given up meanwhile): its pages would hold chunks for nobody.
 */
export function commitCheckpoint(db: EngineDb, { snapshotId, flushed, pages }: CopyCheckpoint): void {
  db.transaction(() => {
    const current = db.snapshot(snapshotId);
    if (!current) throw new Error(`snapshot ${snapshotId} is no longer being copied`);
    if (flushed) indexPack(db, flushed);
    for (const { page, hash } of pages) {
      db.insertCheckpointedPage(snapshotId, page, hash);
      if (hash) db.addRefs(hash, 1);
    }
    db.updateSnapshot({ ...current, addedBytes: current.addedBytes + (flushed?.bytes ?? 0) });
  });
}
