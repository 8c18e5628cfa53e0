// SignatureNonce replay protection with bounded memory. Nonces are kept per access key in buckets
// by the request's own timestamp (one bucket a minute). Requests are accepted only within ±15
// minutes, so a bucket whose minute is older than that is dropped. If the cache is full, the
// oldest bucket is dropped early and its end becomes a floor: any request timestamped before the
// floor is refused as expired, so a replay can never slip through a forgotten bucket.

const BUCKET_MS = 60_000;

export class NonceCache {
  private readonly buckets = new Map<number, Set<string>>();
  private size = 0;
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
    const bucketKey = Math.floor(timestampMs / BUCKET_MS);
    const key = accessKeyId + '\n' + nonce;
    // A nonce is unique across buckets as well: look in every live bucket (at most ~31).
    for (const set of this.buckets.values()) if (set.has(key)) return false;
    let bucket = this.buckets.get(bucketKey);
    if (!bucket) {
      bucket = new Set();
      this.buckets.set(bucketKey, bucket);
    }
    bucket.add(key);
    this.size++;
    while (this.size > this.maxEntries) this.dropOldest();
    return true;
  }

  private expire(nowMs: number): void {
    const oldestLive = Math.floor((nowMs - this.windowMs) / BUCKET_MS);
    for (const [bucketKey, set] of this.buckets) {
      if (bucketKey < oldestLive) {
        this.buckets.delete(bucketKey);
        this.size -= set.size;
      }
    }
  }

  private dropOldest(): void {
    const oldest = Math.min(...this.buckets.keys());
    const set = this.buckets.get(oldest) as Set<string>;
    this.buckets.delete(oldest);
    this.size -= set.size;
    this.floorMs = Math.max(this.floorMs, (oldest + 1) * BUCKET_MS);
  }
}
