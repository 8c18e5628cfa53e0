// SignatureNonce replay protection with bounded memory. Every nonce seen is kept (per access key),
// listed under the minute of the request's own timestamp. Requests are accepted only within ±15 minutes,
// so a minute older than that is forgotten. If the cache is full, the oldest minute is forgotten
// early and its end becomes a floor: any request timestamped before the floor is refused as
// expired, so a replay can never slip through a forgotten minute.

const BUCKET_MS = 60_000;

export class NonceCache {
  /** accessKeyId + nonce, for every nonce still remembered. */
  private readonly seen = new Set<string>();
  /** minute → the keys recorded under it, to forget them together. */
  private readonly buckets = new Map<number, string[]>();
  private floorMs = 0;

  constructor(
    private readonly windowMs: number,
    private readonly maxEntries: number,
  ) {}

  /** The earliest timestamp still acceptable, besides the ±window rule. */
  get floor(): number {
    return this.floorMs;
  }

  /** Records the nonce; false if it was seen already (a replay). */
  remember(accessKeyId: string, nonce: string, timestampMs: number, nowMs: number): boolean {
    this.expire(nowMs);
    const key = accessKeyId + '\n' + nonce;
    if (this.seen.has(key)) return false;
    const minute = Math.floor(timestampMs / BUCKET_MS);
    this.seen.add(key);
    const bucket = this.buckets.get(minute);
    if (bucket) bucket.push(key);
    else this.buckets.set(minute, [key]);
    while (this.seen.size > this.maxEntries) this.forget(Math.min(...this.buckets.keys()), true);
    return true;
  }

  private expire(nowMs: number): void {
    const oldestLive = Math.floor((nowMs - this.windowMs) / BUCKET_MS);
    for (const minute of this.buckets.keys()) if (minute < oldestLive) this.forget(minute, false);
  }

  private forget(minute: number, early: boolean): void {
    for (const key of this.buckets.get(minute) ?? []) this.seen.delete(key);
    this.buckets.delete(minute);
    if (early) this.floorMs = Math.max(this.floorMs, (minute + 1) * BUCKET_MS);
  }
}
