// Moving a disk's or snapshot's bytes between the server and a local file, a few requests in
// flight. Exports are sparse: only the extents are read, all-zero blocks are left as holes, and
// the file gets the full size. They are written to `<file>.part` beside the target, flushed, then
// renamed, so the target is either absent or complete; an error or Ctrl-C removes the `.part`.
import { renameSync, rmSync } from 'node:fs';
import { open, stat } from 'node:fs/promises';
import path from 'node:path';
import type { EnsnapClient, Extent, Extents } from '../client/ensnap-client.js';
import { onInterrupt } from './interrupt.js';
import { humanBytes, Progress } from './progress.js';

/** Bytes moved per request. */
export const PIECE_BYTES = 4 * 1024 * 1024;
/** Requests in flight at once. */
export const IN_FLIGHT = 4;
/** Granularity of the zero check: blocks this size that are all zero are holes. */
const ZERO_BLOCK = 4096;
/** Granularity of import's skip decision (the engine's block). */
const IMPORT_BLOCK = 16 * 1024;

const zeros = Buffer.alloc(IMPORT_BLOCK);
const isZero = (data: Buffer): boolean => data.equals(zeros.subarray(0, data.length));

/** Runs `fn` on each item, `IN_FLIGHT` at a time, in order of start. */
async function pool<T>(items: T[], fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await fn(items[next++] as T);
  };
  await Promise.all(Array.from({ length: Math.min(IN_FLIGHT, items.length) }, worker));
}

/** Extents cut into pieces of at most PIECE_BYTES. */
function piecesOf(extents: Extent[]): Extent[] {
  const out: Extent[] = [];
  for (const e of extents)
    for (let at = 0; at < e.length; at += PIECE_BYTES)
      out.push({ offset: e.offset + at, length: Math.min(PIECE_BYTES, e.length - at) });
  return out;
}

/** [from, to) pairs of `data` that are not all zero, in ZERO_BLOCK steps, merged. */
function nonZeroRuns(data: Buffer, block: number): [number, number][] {
  const runs: [number, number][] = [];
  for (let at = 0; at < data.length; at += block) {
    const end = Math.min(at + block, data.length);
    if (isZero(data.subarray(at, end))) continue;
    const last = runs[runs.length - 1];
    if (last && last[1] === at) last[1] = end;
    else runs.push([at, end]);
  }
  return runs;
}

export interface ExportResult {
  sizeBytes: number;
  dataBytes: number;
}

/** Writes a disk's or snapshot's full content to `file`, sparse and all-or-nothing. */
export async function exportToFile(
  label: string,
  file: string,
  extents: Extents,
  read: (offset: number, length: number) => Promise<Buffer>,
): Promise<ExportResult> {
  const target = path.resolve(file);
  const part = `${target}.part`;
  let finished = false;
  const removePart = () => {
    if (!finished) rmSync(part, { force: true });
  };
  const pieces = piecesOf(extents.extents);
  const total = pieces.reduce((n, p) => n + p.length, 0);
  const progress = new Progress(label, total);
  const offInterrupt = onInterrupt(() => {
    progress.abandon();
    removePart();
  });
  let written = 0;
  try {
    const handle = await open(part, 'w', 0o644);
    try {
      await pool(pieces, async (piece) => {
        const data = await read(piece.offset, piece.length);
        for (const [from, to] of nonZeroRuns(data, ZERO_BLOCK)) {
          await handle.write(data, from, to - from, piece.offset + from);
          written += to - from;
        }
        progress.add(piece.length);
      });
      await handle.truncate(extents.sizeBytes);
      await handle.sync();
    } finally {
      await handle.close();
    }
    // Synchronous, so that no signal handler runs between the rename and `finished`.
    renameSync(part, target);
    finished = true;
    const dir = await open(path.dirname(target), 'r');
    await dir.sync().finally(() => dir.close());
  } catch (error) {
    progress.abandon();
    removePart();
    throw error;
  } finally {
    offInterrupt();
  }
  progress.finish(`${humanBytes(written)} of data in a ${humanBytes(extents.sizeBytes)} sparse file`);
  return { sizeBytes: extents.sizeBytes, dataBytes: written };
}

export interface ImportResult {
  fileBytes: number;
  writtenBytes: number;
}

/**
 * Writes a raw image to a disk from offset 0. All-zero blocks are skipped where the disk holds no
 * data (they read as zeros already) and written where it does; the disk beyond the image's size
 * is left as it is.
 */
export async function importFile(client: EnsnapClient, diskId: string, file: string): Promise<ImportResult> {
  const { size } = await stat(file);
  const { sizeBytes, extents } = await client.diskExtents(diskId);
  if (size > sizeBytes)
    throw new Error(`${file} (${humanBytes(size)}) is larger than disk ${diskId} (${humanBytes(sizeBytes)})`);
  const pieces: Extent[] = [];
  for (let at = 0; at < size; at += PIECE_BYTES)
    pieces.push({ offset: at, length: Math.min(PIECE_BYTES, size - at) });
  const hasData = extentLookup(extents);
  const progress = new Progress(`import ${path.basename(file)} → ${diskId}`, size);
  const offInterrupt = onInterrupt(() => progress.abandon());
  let written = 0;
  const handle = await open(file, 'r');
  // One buffer per piece in flight, reused: a fresh one per piece left hundreds of MiB to the
  // collector over an import.
  const free: Buffer[] = [];
  try {
    await pool(pieces, async (piece) => {
      const buffer = free.pop() ?? Buffer.allocUnsafe(PIECE_BYTES);
      const data = buffer.subarray(0, piece.length);
      let got = 0;
      while (got < piece.length) {
        const { bytesRead } = await handle.read(data, got, piece.length - got, piece.offset + got);
        if (bytesRead === 0) throw new Error(`${file} changed size while being read`);
        got += bytesRead;
      }
      // Blocks to write: not all zero, or over data the disk holds (which must become zeros).
      const runs: [number, number][] = [];
      for (let at = 0; at < data.length; at += IMPORT_BLOCK) {
        const end = Math.min(at + IMPORT_BLOCK, data.length);
        if (isZero(data.subarray(at, end)) && !hasData(piece.offset + at, piece.offset + end)) continue;
        const last = runs[runs.length - 1];
        if (last && last[1] === at) last[1] = end;
        else runs.push([at, end]);
      }
      for (const [from, to] of runs) {
        await client.writeDisk(diskId, piece.offset + from, data.subarray(from, to));
        written += to - from;
      }
      free.push(buffer);
      progress.add(piece.length);
    });
  } catch (error) {
    progress.abandon();
    throw error;
  } finally {
    offInterrupt();
    await handle.close();
  }
  progress.finish(`${humanBytes(written)} written`);
  return { fileBytes: size, writtenBytes: written };
}

/** Whether [from, to) overlaps one of the (sorted, disjoint) extents. */
function extentLookup(extents: Extent[]): (from: number, to: number) => boolean {
  return (from, to) => {
    let lo = 0;
    let hi = extents.length;
    // The first extent that ends after `from`.
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const e = extents[mid] as Extent;
      if (e.offset + e.length <= from) lo = mid + 1;
      else hi = mid;
    }
    const e = extents[lo];
    return e !== undefined && e.offset < to;
  };
}
