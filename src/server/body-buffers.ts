// Raw request bodies (WriteDiskData's data) are read into buffers kept for the next requests. Read
// the usual way, each body was a new buffer (the request's chunks joined), garbage as soon as its
// write was done: a burst of writes left tens of MiB of them to the collector, which V8 collects
// only once they pass 64 MiB, and a snapshot copy started then peaked the server well above its
// usual memory.
import type { Readable } from 'node:stream';
import { errorCodes } from 'fastify';

/** Buffers by size class (powers of two), lent for one request each. */
export class BodyBuffers {
  private readonly free = new Map<number, Buffer[]>();
  /** The memory of buffers lent and not yet given back. */
  private readonly lent = new WeakSet<ArrayBufferLike>();

  constructor(
    private readonly smallest = 4 * 1024,
    /** Bodies larger than this get a buffer of their own, not kept. */
    private readonly largest = 512 * 1024,
    /** Buffers kept per size class (about as many as writes at once). */
    private readonly keep = 8,
  ) {}

  /** A buffer of exactly `length` bytes, lent from the class that holds it when there is one. */
  take(length: number): Buffer {
    if (length > this.largest) return Buffer.allocUnsafeSlow(length);
    let size = this.smallest;
    while (size < length) size *= 2;
    const buffer = this.free.get(size)?.pop() ?? Buffer.allocUnsafeSlow(size);
    this.lent.add(buffer.buffer);
    return buffer.subarray(0, length);
  }

  /** Takes back a buffer take() lent (any other, or one given back already, is left alone). */
  give(buffer: Buffer): void {
    const memory = buffer.buffer;
    if (!this.lent.has(memory)) return;
    this.lent.delete(memory);
    const size = memory.byteLength;
    let list = this.free.get(size);
    if (!list) this.free.set(size, (list = []));
    if (list.length < this.keep) list.push(Buffer.from(memory, 0, size));
  }

  /**
   * Reads a request's body into a lent buffer, with Fastify's checks and errors: a declared or
   * received length over `limit`, a received length other than the declared one.
   */
  read(payload: Readable, declared: string | undefined, limit: number): Promise<Buffer> {
    const expected = declared === undefined ? NaN : Number(declared);
    if (expected > limit) return Promise.reject(new errorCodes.FST_ERR_CTP_BODY_TOO_LARGE());
    return new Promise((resolve, reject) => {
      // Sized by the declared length; grown (by doubling) for a body sent without one.
      let body = this.take(Number.isInteger(expected) && expected >= 0 ? expected : this.smallest);
      let received = 0;
      const fail = (error: Error) => {
        payload.removeListener('data', onData);
        payload.removeListener('end', onEnd);
        payload.removeListener('error', onError);
        this.give(body);
        reject(error);
      };
      const onData = (chunk: Buffer) => {
        if (received + chunk.length > limit) return fail(new errorCodes.FST_ERR_CTP_BODY_TOO_LARGE());
        if (received + chunk.length > body.length) {
          if (!Number.isNaN(expected)) return fail(new errorCodes.FST_ERR_CTP_INVALID_CONTENT_LENGTH());
          const larger = this.take(Math.min(limit, Math.max(2 * body.length, received + chunk.length)));
          body.copy(larger, 0, 0, received);
          this.give(body);
          body = larger;
        }
        chunk.copy(body, received);
        received += chunk.length;
      };
      const onEnd = () => {
        payload.removeListener('data', onData);
        payload.removeListener('error', onError);
        if (!Number.isNaN(expected) && received !== expected) {
          this.give(body);
          reject(new errorCodes.FST_ERR_CTP_INVALID_CONTENT_LENGTH());
          return;
        }
        resolve(body.subarray(0, received));
      };
      const onError = (error: Error & { statusCode?: number }) => {
        if (!(typeof error.statusCode === 'number' && error.statusCode >= 400)) error.statusCode = 400;
        fail(error);
      };
      payload.on('data', onData);
      payload.on('end', onEnd);
      payload.on('error', onError);
      payload.resume();
    });
  }
}
