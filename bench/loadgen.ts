// The load generator, one process per timed run (forked by api-bench, so it never shares a
// process with a server): it receives a job over IPC, signs its whole pool of requests first
// (nothing is signed while the clock runs), then drives autocannon or wrk and reports back over
// IPC. With autocannon, latencies are kept per response at sub-millisecond precision (its own
// histogram rounds to whole milliseconds); with wrk (what the baselines in the shared bench notes
// used: C, two threads), a Lua script hands each request its own pre-signed target and wrk's
// own percentiles are reported.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import autocannon from 'autocannon';
import { signRequests, type Credentials } from './sign.js';

export type LoadTool = 'autocannon' | 'wrk';

export interface LoadJob {
  tool: LoadTool;
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

// Each wrk thread takes every n-th target of the pool, starting at its own id, so no target is
// sent twice; past the end it sends the first again (a replay ensnap refuses, so it shows).
const WRK_SCRIPT = `
local counter = 0
function setup(thread)
  thread:set("id", counter)
  counter = counter + 1
end
function init(args)
  paths = {}
  for line in io.lines(args[1]) do paths[#paths + 1] = line end
  step = tonumber(args[2])
  nextIndex = id + 1
end
function request()
  local target = paths[nextIndex] or paths[1]
  nextIndex = nextIndex + step
  return wrk.format("GET", target)
end
function done(summary, latency, requests)
  io.write(string.format('WRK {"requests":%d,"durationUs":%d,"status":%d,"connect":%d,"read":%d,"write":%d,"timeout":%d,"p50":%d,"p99":%d,"max":%d}\\n',
    summary.requests, summary.duration, summary.errors.status, summary.errors.connect, summary.errors.read,
    summary.errors.write, summary.errors.timeout, latency:percentile(50), latency:percentile(99), latency.max))
end
`;

const WRK_THREADS = 2;

function runWrk(job: LoadJob, pool: string[], signSec: number): Promise<LoadResult> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'ensnap-wrk-'));
  writeFileSync(path.join(dir, 'targets.txt'), pool.join('\n') + '\n');
  writeFileSync(path.join(dir, 'targets.lua'), WRK_SCRIPT);
  const headers = Object.entries(job.headers).flatMap(([k, v]) => ['-H', `${k}: ${v}`]);
  const args = [
    `-t${WRK_THREADS}`,
    `-c${job.connections}`,
    `-d${job.durationSec}s`,
    '--timeout',
    '10s',
    ...headers,
    '-s',
    path.join(dir, 'targets.lua'),
    job.url,
    '--',
    path.join(dir, 'targets.txt'),
    String(WRK_THREADS),
  ];
  return new Promise((resolve, reject) => {
    const child = spawn('wrk', args, { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.on('error', reject);
    child.on('exit', (code) => {
      rmSync(dir, { recursive: true, force: true });
      const line = /^WRK (.*)$/m.exec(out)?.[1];
      if (code !== 0 || line === undefined) return reject(new Error(`wrk failed (${code}):\n${out}`));
      const r = JSON.parse(line) as Record<string, number>;
      const n = (k: string) => r[k] as number;
      const elapsedSec = n('durationUs') / 1e6;
      resolve({
        responses: n('requests'),
        elapsedSec,
        rps: n('requests') / elapsedSec,
        p50Ms: n('p50') / 1e3,
        p99Ms: n('p99') / 1e3,
        maxMs: n('max') / 1e3,
        statusCodes: { '200': n('requests') - n('status') },
        non2xx: n('status'),
        errors: n('connect') + n('read') + n('write'),
        timeouts: n('timeout'),
        poolSize: pool.length,
        poolUsed: Math.min(pool.length, n('requests')),
        poolExhausted: !job.pool.reuse && n('requests') > pool.length,
        signSec,
        cpuSec: NaN, // wrk runs in its own process; not measured
      });
    });
  });
}

function run(job: LoadJob): Promise<LoadResult> {
  const signStart = process.hrtime.bigint();
  const { credentials, version, action, params, size, reuse } = job.pool;
  const pool = signRequests(credentials, version, action, params, size);
  const signSec = Number(process.hrtime.bigint() - signStart) / 1e9;
  if (job.tool === 'wrk') return runWrk(job, pool, signSec);

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
