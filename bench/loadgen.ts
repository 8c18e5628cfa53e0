// The load generator, one process per timed run (forked by api-bench, so it never shares a
// process with a server): it receives a job over IPC, signs its whole pool of requests first
// (nothing is signed while the clock runs), then drives autocannon and reports back over IPC.
// Latencies are kept per response at sub-millisecond precision (autocannon's own histogram
// rounds to whole milliseconds).
import autocannon from 'autocannon';
import { signRequests, type Credentials } from './sign.js';

export interface LoadJob {
  url: string;
  connections: number;
  durationSec: number;
  headers: Record<string, string>;
  pool: {
    credentials: Credentials;
    version: string;
    action: string;
    params: Record<string, string>;
    size: number;
    /** Reusing a request is fine (bare server) or a failure (ensnap refuses a replayed nonce). */
    reuse: boolean;
  };
}

export interface LoadResult {
  responses: number;
  elapsedSec: number;
  rps: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  statusCodes: Record<string, number>;
  non2xx: number;
  errors: number;
  timeouts: number;
  poolSize: number;
  poolUsed: number;
  /** True when the run needed more distinct requests than were signed. */
  poolExhausted: boolean;
  signSec: number;
  /** CPU seconds (user + system) the load generator used while the clock ran. */
  cpuSec: number;
}

function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return NaN;
  const rank = Math.max(1, Math.ceil(p * sorted.length));
  return sorted[rank - 1] as number;
}

function run(job: LoadJob): Promise<LoadResult> {
  const signStart = process.hrtime.bigint();
  const { credentials, version, action, params, size, reuse } = job.pool;
  const pool = signRequests(credentials, version, action, params, size);
  const signSec = Number(process.hrtime.bigint() - signStart) / 1e9;

  let next = 0;
  let exhausted = false;
  const setupRequest = (request: { path?: string }) => {
    if (next === pool.length) {
      if (!reuse) exhausted = true;
      next = 0;
    }
    request.path = pool[next++];
    return request;
  };

  let latencies = new Float64Array(1 << 18);
  let count = 0;
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    const cpuStart = process.cpuUsage();
    const instance = autocannon(
      {
        url: job.url,
        connections: job.connections,
        duration: job.durationSec,
        timeout: 10,
        headers: job.headers,
        requests: [{ method: 'GET', setupRequest }],
      },
      (error, result) => {
        if (error) return reject(error);
        const elapsedSec = Number(process.hrtime.bigint() - started) / 1e9;
        const cpu = process.cpuUsage(cpuStart);
        const sorted = latencies.subarray(0, count).sort();
        const statusCodes: Record<string, number> = {};
        for (const [code, { count: n }] of Object.entries(result.statusCodeStats)) statusCodes[code] = n;
        resolve({
          responses: count,
          elapsedSec,
          rps: count / elapsedSec,
          p50Ms: percentile(sorted, 0.5),
          p99Ms: percentile(sorted, 0.99),
          maxMs: count > 0 ? (sorted[count - 1] as number) : NaN,
          statusCodes,
          non2xx: result.non2xx,
          errors: result.errors,
          timeouts: result.timeouts,
          poolSize: pool.length,
          poolUsed: exhausted ? pool.length : next,
          poolExhausted: exhausted,
          signSec,
          cpuSec: (cpu.user + cpu.system) / 1e6,
        });
      },
    );
    instance.on('response', (_client: unknown, _status: number, _bytes: number, responseTimeMs: number) => {
      if (count === latencies.length) {
        const bigger = new Float64Array(latencies.length * 2);
        bigger.set(latencies);
        latencies = bigger;
      }
      latencies[count++] = responseTimeMs;
    });
  });
}

process.once('message', (job: LoadJob) => {
  run(job).then(
    (result) => process.send?.({ result }, () => process.exit(0)),
    (error: unknown) => process.send?.({ error: String(error) }, () => process.exit(1)),
  );
});
