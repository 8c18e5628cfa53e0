import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { NonceCache } from '../../src/protocol/nonce-cache.js';
import { parseTimestamp } from '../../src/protocol/authenticate.js';

const WINDOW = 15 * 60_000;

describe('nonce cache', () => {
  it('refuses a nonce seen before, per access key', () => {
    const c = new NonceCache(WINDOW, 1000);
    const now = Date.UTC(2026, 0, 1);
    assert.equal(c.remember('ak1', 'n1', now, now), true);
    assert.equal(c.remember('ak1', 'n1', now, now + 1000), false);
    assert.equal(c.remember('ak1', 'n1', now - 5 * 60_000, now + 1000), false, 'another minute bucket');
    assert.equal(c.remember('ak2', 'n1', now, now), true, 'another key');
  });

  it('forgets nonces once their timestamps are outside the window', () => {
    const c = new NonceCache(WINDOW, 1000);
    const t = Date.UTC(2026, 0, 1);
    c.remember('ak', 'old', t, t);
    assert.equal(c.remember('ak', 'old', t, t + WINDOW + 2 * 60_000), true);
  });

  it('when full, drops the oldest minute and refuses timestamps before it (no replay slips through)', () => {
    const c = new NonceCache(WINDOW, 3);
    const t = Date.UTC(2026, 0, 1, 12, 0, 30);
    c.remember('ak', 'a', t - 3 * 60_000, t);
    c.remember('ak', 'b', t - 2 * 60_000, t);
    c.remember('ak', 'c', t - 60_000, t);
    assert.equal(c.floor, 0);
    c.remember('ak', 'd', t, t);
    assert.ok(c.floor > t - 3 * 60_000, 'floor moved past the dropped minute');
    assert.ok(c.floor <= t - 2 * 60_000);
  });
});

describe('timestamps', () => {
  it('accepts yyyy-MM-ddTHH:mm:ssZ only', () => {
    assert.equal(parseTimestamp('2024-01-01T00:00:00Z'), Date.UTC(2024, 0, 1));
    for (const bad of [
      '2024-01-01T00:00:00.000Z',
      '2024-01-01 00:00:00',
      '2024-02-30T00:00:00Z',
      '2024-01-01T24:00:00Z',
      '',
      'x',
    ]) {
      assert.ok(Number.isNaN(parseTimestamp(bad)), bad);
    }
  });
});
