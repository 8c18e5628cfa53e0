// Raw request bodies are read into buffers lent by size class and reused: never lent twice at
// once, and read with Fastify's length checks.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { describe, it } from 'node:test';
import { BodyBuffers } from '../../src/server/body-buffers.js';

/** A request body arriving in pieces of `piece` bytes. */
function payload(bytes: Buffer, piece = 1000): Readable {
  const pieces: Buffer[] = [];
  for (let at = 0; at < bytes.length; at += piece) pieces.push(bytes.subarray(at, at + piece));
  return Readable.from(pieces, { objectMode: false });
}

describe('request body buffers', () => {
  it('lend a buffer of the size class again once it is given back, never twice at once', () => {
    const buffers = new BodyBuffers(4096, 65536, 2);
    const a = buffers.take(5000);
    assert.equal(a.length, 5000);
    assert.equal(a.buffer.byteLength, 8192, 'the 8 KiB class');
    const b = buffers.take(6000);
    assert.notEqual(b.buffer, a.buffer, 'a lent buffer is not lent again');
    buffers.give(a);
    buffers.give(a); // given twice: kept once
    const c = buffers.take(7000);
    assert.equal(c.buffer, a.buffer, 'the buffer given back is lent again');
    assert.notEqual(buffers.take(7000).buffer, a.buffer, 'and only once');
    buffers.give(Buffer.alloc(8192)); // not lent by it: left alone
    assert.equal(buffers.take(100000).buffer.byteLength, 100000, 'beyond the largest class: its own');
  });

  it('read a body whole, grown when no length was declared, and refuse wrong lengths', async () => {
    const buffers = new BodyBuffers(4096, 65536, 2);
    const bytes = randomBytes(50_000);
    const declared = await buffers.read(payload(bytes), '50000', 1 << 20);
    assert.ok(declared.equals(bytes));
    const chunked = await buffers.read(payload(bytes, 3000), undefined, 1 << 20);
    assert.ok(chunked.equals(bytes), 'a body sent without a length, in pieces over several classes');

    const refused = async (body: Readable, length: string | undefined, limit: number, code: string) =>
      assert.rejects(buffers.read(body, length, limit), (error: Error & { code?: string }) => {
        assert.equal(error.code, code);
        return true;
      });
    await refused(payload(bytes), '50000', 40_000, 'FST_ERR_CTP_BODY_TOO_LARGE');
    await refused(payload(bytes), undefined, 40_000, 'FST_ERR_CTP_BODY_TOO_LARGE');
    await refused(payload(bytes), '49999', 1 << 20, 'FST_ERR_CTP_INVALID_CONTENT_LENGTH');
    await refused(payload(bytes), '50001', 1 << 20, 'FST_ERR_CTP_INVALID_CONTENT_LENGTH');
    // A refused read gave its buffer back: the class lends it again.
    const kept = buffers.take(60_000);
    buffers.give(kept);
    const failing = buffers.read(payload(bytes), '49999', 1 << 20);
    await assert.rejects(failing);
    assert.equal(buffers.take(60_000).buffer, kept.buffer);
  });
});
