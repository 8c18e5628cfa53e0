// Bulk writes that bypass the page cache (O_DIRECT). A restore writes a whole snapshot into a
// disk's file once, then flushes it. Through the page cache every byte is first copied into
// memory the kernel must find for it (on a VM, memory the host backs only when first touched,
// which costs more than the write itself) and then written back; direct I/O sends it from the
// writer's buffer to the device. Direct I/O needs the memory, the offset and the length aligned:
// the bytes go through a staging buffer of WebAssembly memory, which is page-aligned.
//
// The staging buffer is cut into slots: while one is filled, the others are being written, and a
// slot is written only once it is full or the next bytes are not contiguous with it, so that
// consecutive calls coalesce into large writes. One after the other, each write waited for the
// device and the device for the next write: the device was idle a third of the time.
import { constants } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';

/** Offsets and lengths of direct writes are multiples of this (a page; sectors are smaller). */
export const DIRECT_ALIGN = 4096;
const STAGING_BYTES = 4 * 1024 * 1024;
const STAGING_SLOTS = 2;
const WASM_PAGE = 64 * 1024;

// The one WebAssembly API used here (the project's TypeScript libraries do not declare it).
declare const WebAssembly: { Memory: new (pages: { initial: number }) => { buffer: ArrayBuffer } };

/** The memory of buffers made by alignedBuffer(). */
const alignedMemory = new WeakSet<ArrayBufferLike>();

/**
 * A buffer whose memory starts on a page boundary (WebAssembly memory: its size is rounded up to
 * 64 KiB), as direct I/O needs.
 */
export function alignedBuffer(bytes: number): Buffer {
  const memory = new WebAssembly.Memory({ initial: Math.ceil(bytes / WASM_PAGE) }).buffer;
  alignedMemory.add(memory);
  return Buffer.from(memory);
}

/** Whether direct I/O can write `length` bytes from `buffer` rounded up to DIRECT_ALIGN. */
export function directWritable(buffer: Uint8Array, length = buffer.length): boolean {
  return (
    alignedMemory.has(buffer.buffer) &&
    buffer.byteOffset % DIRECT_ALIGN === 0 &&
    buffer.byteOffset + Math.ceil(length / DIRECT_ALIGN) * DIRECT_ALIGN <= buffer.buffer.byteLength
  );
}

/**
 * Staging buffers of closed writers, kept for the next ones (a few: as many as fills run at once),
 * so that restore after restore reuses the same memory instead of leaving it to the collector.
 */
const idleStaging: Buffer[] = [];
const IDLE_STAGING_KEPT = 2;

function giveBack(staging: Buffer): void {
  if (idleStaging.length < IDLE_STAGING_KEPT) idleStaging.push(staging);
}

/**
 * Writes issued and not yet awaited: write() returns once the bytes are copied out of the
 * caller's buffers, and drain() once every write so far is done. One caller at a time (the
 * volume calls it under its lock). After a failure every write() and drain() fails.
 */
export class DirectWriter {
  /** Slots of the staging buffer: some are written while the next is filled. */
  private readonly slots: Buffer[];
  private readonly writing: (Promise<void> | undefined)[];
  private current = 0;
  /** Bytes in the current slot, to be written at `at`. */
  private filled = 0;
  private at = 0;
  private failure: unknown;

  private constructor(
    private readonly handle: FileHandle,
    private readonly staging: Buffer,
  ) {
    const slot = STAGING_BYTES / STAGING_SLOTS;
    this.slots = Array.from({ length: STAGING_SLOTS }, (_, i) => staging.subarray(i * slot, (i + 1) * slot));
    this.writing = this.slots.map(() => undefined);
  }

  /** A writer for the file, or undefined where the file system refuses direct I/O (tmpfs). */
  static async open(file: string): Promise<DirectWriter | undefined> {
    let handle: FileHandle;
    try {
      handle = await open(file, constants.O_RDWR | constants.O_DIRECT);
    } catch {
      return undefined;
    }
    const staging = idleStaging.pop() ?? alignedBuffer(STAGING_BYTES);
    // Writes fail late (after write() returned): whether this file system takes direct I/O of
    // this alignment is found out now, with a read, which changes nothing.
    try {
      await handle.read(staging, 0, DIRECT_ALIGN, 0);
    } catch {
      await handle.close();
      giveBack(staging);
      return undefined;
    }
    return new DirectWriter(handle, staging);
  }

  /** Whether a write at this offset of this length can go direct. */
  static fits(offset: number, length: number): boolean {
    return offset % DIRECT_ALIGN === 0 && length % DIRECT_ALIGN === 0;
  }

  /**
   * Queues the parts, back to back from `offset` (both aligned: see fits()). The parts may be
   * reused once this resolves; the bytes are in the file once drain() resolves.
   */
  async write(parts: Buffer[], offset: number): Promise<void> {
    this.check();
    if (this.filled > 0 && offset !== this.at + this.filled) this.issue();
    if (this.filled === 0) this.at = offset;
    for (const part of parts) {
      for (let from = 0; from < part.length;) {
        // The slot is free once its previous write is done (a failed one fails this call).
        if (this.filled === 0) await this.writing[this.current];
        const staging = this.slots[this.current] as Buffer;
        const n = Math.min(part.length - from, staging.length - this.filled);
        part.copy(staging, this.filled, from, from + n);
        this.filled += n;
        from += n;
        if (this.filled === staging.length) this.issue();
      }
    }
  }

  /** Writes what is queued and waits for every write so far; fails if any failed. */
  async drain(): Promise<void> {
    await this.settle();
    this.check();
  }

  /** As drain(), without reporting a failure (for those who only need the writes to be over). */
  async settle(): Promise<void> {
    if (this.filled > 0) this.issue();
    await Promise.allSettled(this.writing);
  }

  /** Waits for the writes in flight (a failure is drain()'s to report), then closes. */
  async close(): Promise<void> {
    await this.settle();
    await this.handle.close();
    giveBack(this.staging);
  }

  private check(): void {
    if (this.failure !== undefined) throw this.failure;
  }

  private issue(): void {
    const slot = this.current;
    const done = this.writeAll(this.slots[slot] as Buffer, this.filled, this.at);
    done.catch((error: unknown) => (this.failure ??= error));
    this.writing[slot] = done;
    this.at += this.filled;
    this.filled = 0;
    this.current = (slot + 1) % this.slots.length;
  }

  private async writeAll(buffer: Buffer, length: number, at: number): Promise<void> {
    let done = 0;
    while (done < length) {
      const { bytesWritten } = await this.handle.write(buffer, done, length - done, at + done);
      if (bytesWritten <= 0) throw Object.assign(new Error('direct write wrote nothing'), { code: 'EIO' });
      done += bytesWritten;
    }
  }
}
