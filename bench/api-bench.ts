// `npm run bench:api`: signed CreateSnapshot against ensnap (by its root, and by a RAM user with 100
// policy statements), side by side with a bare node:http server answering a fixed JSON body of
// the same size, and with the issue's "plain handler" (node:http, an HMAC check and one SQLite
// INSERT per request), on 127.0.0.1, in one run.
//
// - ensnap runs as a child process (`node dist/src/cli/main.js serve`) with its defaults (info
//   logging, jobs on, SQLite synchronous=FULL with group commit) on a fresh data directory; its
//   stdout (one pino line per request) goes to a file in that directory (BENCH_LOG=null: /dev/null).
// - The bare server (bench/bare-server.ts) is another child process; it answers with the body
//   ensnap returned for a real CreateSnapshot, so both bodies have the same size. The plain
//   handler (the same file, mode `plain`) is a third: it checks each request's signature V1 and
//   inserts one row (WAL, synchronous=NORMAL) before answering that body. The issue calibrates its
//   target on it ("reaches 30%"); its ratio to the bare server, measured in the same run, shows
//   what that calibration is on the day.
// - Each timed run forks its own load generator (bench/loadgen.ts: wrk when installed, as the
//   shared baselines used, else autocannon; BENCH_LOADGEN chooses; 50 connections),
//   which signs a pool of distinct requests (own SignatureNonce each, pop-core's signature v1 GET)
//   before the clock starts. Both servers get the same requests.
// - One warmup per server, then RUNS rounds alternating the servers (the order flips each round).
//   Before every run ensnap's background job queue (each snapshot queues a job) is drained, so a
//   run never competes with the other server's leftovers.
// - Every response must be 200; afterwards ensnap's log must hold one `request` line per request
//   and its database one snapshot per success. Any other outcome fails the benchmark (exit 1).
// - Reported per server: median req/s, p50 and p99 over the runs (min..max beside them), and the
//   server's CPU per request (all its threads, from /proc); per run also the load generator's CPU.
//   The verdict compares the medians with the targets: ensnap >= 40% of the bare server's req/s,
//   ensnap p99 <= 15 ms (the plain handler's ratios are printed, not judged). A missed target prints FAIL and still exits 0 (BENCH_ENFORCE=1: exit 3).
//
// Knobs (environment): BENCH_DURATION seconds per run (10), RUNS (3), BENCH_WARMUP seconds (3),
// BENCH_CONNECTIONS (50), BENCH_MAX_RPS (25000: distinct requests signed = this x (duration+2)),
// BENCH_LOG (file | null), BENCH_CPU_PROF (a directory: ensnap runs with --cpu-prof there),
// BENCH_JOBS (on | off: ENSNAP_JOBS; off skips the drain), BENCH_KEEP=1 (keep the temp directory),
// BENCH_LOADGEN (autocannon | wrk).
import { fork, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import {
  closeSync,
  createReadStream,
  existsSync,
  mkdtempSync,
  openSync,
  readFileSync,
  rmSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import type { LoadJob, LoadResult, LoadTool } from './loadgen.js';
import { freePort } from './snapshot/common.js';
import { popCoreHeaders, signRequests, type Credentials } from './sign.js';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(HERE, '../..');
const ENSNAP_MAIN = path.join(ROOT, 'dist/src/cli/main.js');
const BARE_SERVER = path.join(HERE, 'bare-server.js');
const LOADGEN = path.join(HERE, 'loadgen.js');

const VERSION = '2017-11-10';
const RAM_VERSION = '2015-05-01';
const REGION = 'cn-beijing-15';
const CREDENTIALS: Credentials = {
  accessKeyId: 'LTAIbenchRootKey0001',
  accessKeySecret: 'benchRootSecret0001',
};
const TARGET_RATIO = 0.4;
const TARGET_P99_MS = 15;
/** A RAM user's throughput over the root's: authorization may cost at most 10%. */
const TARGET_AUTHZ_RATIO = 0.9;

function envNumber(name: string, fallback: number, min: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isFinite(n) || n < min) throw new Error(`${name} must be a number >= ${min}, not "${raw}"`);
  return n;
}

const settings = {
  durationSec: envNumber('BENCH_DURATION', 10, 1),
  runs: Math.floor(envNumber('RUNS', 3, 1)),
  warmupSec: envNumber('BENCH_WARMUP', 3, 0),
  connections: Math.floor(envNumber('BENCH_CONNECTIONS', 50, 1)),
  maxRps: envNumber('BENCH_MAX_RPS', 25_000, 100),
  log: process.env.BENCH_LOG === 'null' ? ('null' as const) : ('file' as const),
  cpuProfDir: process.env.BENCH_CPU_PROF ? path.resolve(process.env.BENCH_CPU_PROF) : undefined,
  jobs: process.env.BENCH_JOBS === 'off' ? 'off' : 'on',
  keep: process.env.BENCH_KEEP === '1',
  // wrk when installed (the shared baselines were measured with it), else autocannon.
  tool: loadTool(process.env.BENCH_LOADGEN),
};

function loadTool(wanted: string | undefined): LoadTool {
  if (wanted === 'autocannon') return 'autocannon';
  const hasWrk = spawnSync('wrk', ['-v']).error === undefined;
  if (wanted === 'wrk' && !hasWrk)
    throw new Error('BENCH_LOADGEN=wrk, but wrk is not installed (apt-get install wrk)');
  if (wanted !== undefined && wanted !== 'wrk')
    throw new Error(`BENCH_LOADGEN must be wrk or autocannon, not "${wanted}"`);
  return hasWrk ? 'wrk' : 'autocannon';
}

// --- child processes: every one we start is tracked and stopped by its PID ---

const children = new Set<ChildProcess>();
let tempDir: string | undefined;

function track(child: ChildProcess): ChildProcess {
  children.add(child);
  child.once('exit', () => children.delete(child));
  return child;
}

function exited(child: ChildProcess): boolean {
  return child.exitCode !== null || child.signalCode !== null;
}

/** Signals a child by its PID; false if it is already gone. */
function signal(child: ChildProcess, name: NodeJS.Signals): boolean {
  if (exited(child) || child.pid === undefined) return false;
  try {
    process.kill(child.pid, name);
    return true;
  } catch {
    return false; // exited meanwhile
  }
}

/** SIGTERM to the child's PID, SIGKILL after `graceMs`; resolves with the exit code or signal. */
function stopChild(child: ChildProcess, graceMs = 20_000): Promise<number | string> {
  return new Promise((resolve) => {
    if (exited(child) || child.pid === undefined)
      return resolve(child.exitCode ?? child.signalCode ?? 'gone');
    const timer = setTimeout(() => signal(child, 'SIGKILL'), graceMs);
    child.once('exit', (code, sig) => {
      clearTimeout(timer);
      resolve(code ?? sig ?? 'unknown');
    });
    signal(child, 'SIGTERM');
  });
}

function killAllNow(): void {
  for (const child of children) signal(child, 'SIGKILL');
}

/** CPU seconds (user + system, all threads) a child has used so far, from /proc; NaN elsewhere. */
function cpuSeconds(child: ChildProcess): number {
  try {
    const stat = readFileSync(`/proc/${child.pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100; // utime + stime, USER_HZ = 100
  } catch {
    return NaN;
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function waitFor(
  what: string,
  child: ChildProcess,
  probe: () => Promise<boolean>,
  output: () => string,
) {
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    if (exited(child)) throw new Error(`${what} exited before it listened:\n${output()}`);
    if (await probe().catch(() => false)) return;
    await sleep(50);
  }
  throw new Error(`${what} did not start listening in 20 s:\n${output()}`);
}

// --- ensnap and the bare server ---

interface Ensnap {
  child: ChildProcess;
  base: string;
  dataDir: string;
  logFile: string | undefined;
}

async function startEnsnap(dir: string): Promise<Ensnap> {
  const port = await freePort();
  const dataDir = path.join(dir, 'data');
  const logFile = settings.log === 'file' ? path.join(dir, 'ensnap.log') : undefined;
  const out = openSync(logFile ?? '/dev/null', 'a');
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('ENSNAP_')) env[k] = v;
  Object.assign(env, {
    ENSNAP_HOST: '127.0.0.1',
    ENSNAP_PORT: String(port),
    ENSNAP_DATA_DIR: dataDir,
    ENSNAP_ROOT_ACCESS_KEY_ID: CREDENTIALS.accessKeyId,
    ENSNAP_ROOT_ACCESS_KEY_SECRET: CREDENTIALS.accessKeySecret,
    ENSNAP_JOBS: settings.jobs,
    // The benchmark snapshots one disk far more often than the default quota allows.
    ENSNAP_SNAPSHOTS_PER_DISK: '0',
  });
  const flags = settings.cpuProfDir ? ['--cpu-prof', `--cpu-prof-dir=${settings.cpuProfDir}`] : [];
  const child = track(
    spawn(process.execPath, [...flags, ENSNAP_MAIN, 'serve'], { env, stdio: ['ignore', out, 'pipe'] }),
  );
  closeSync(out);
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const base = `http://127.0.0.1:${port}`;
  await waitFor(
    'ensnap',
    child,
    async () => (await fetch(`${base}/metrics`)).ok,
    () => stderr,
  );
  return { child, base, dataDir, logFile };
}

/** The bare server, or the plain handler (its database in `dir`). */
async function startReference(
  mode: 'bare' | 'plain',
  body: string,
  dir: string,
): Promise<{ child: ChildProcess; base: string }> {
  const port = await freePort();
  const env = {
    ...process.env,
    BARE_BODY: body,
    PLAIN_DB: path.join(dir, 'plain.db'),
    PLAIN_KEY_ID: CREDENTIALS.accessKeyId,
    PLAIN_KEY_SECRET: CREDENTIALS.accessKeySecret,
  };
  const child = track(
    spawn(process.execPath, [BARE_SERVER, String(port), mode], { env, stdio: ['ignore', 'pipe', 'pipe'] }),
  );
  let output = '';
  const collect = (chunk: Buffer) => (output += chunk.toString());
  child.stdout?.on('data', collect);
  child.stderr?.on('data', collect);
  const base = `http://127.0.0.1:${port}`;
  await waitFor(
    `${mode} server`,
    child,
    async () => output.includes('listening'),
    () => output,
  );
  return { child, base };
}

async function callSigned(
  base: string,
  action: string,
  params: Record<string, string>,
  version = VERSION,
  credentials = CREDENTIALS,
) {
  const [target] = signRequests(credentials, version, action, params, 1);
  const response = await fetch(base + target, { headers: popCoreHeaders(action, version) });
  const body = await response.text();
  if (response.status !== 200) throw new Error(`${action} answered ${response.status}: ${body}`);
  return { body, json: JSON.parse(body) as Record<string, unknown> };
}

/** Jobs queued or running, from ensnap's /metrics. */
async function pendingJobs(base: string): Promise<number> {
  const text = await (await fetch(`${base}/metrics`)).text();
  const gauge = (state: string) =>
    Number(new RegExp(`^ensnap_jobs\\{state="${state}"\\} (\\d+)$`, 'm').exec(text)?.[1] ?? 0);
  return gauge('queued') + gauge('running');
}

/** Waits until ensnap's job queue is empty (its snapshot jobs would otherwise run during the next run). */
async function drainJobs(base: string): Promise<{ seconds: number; queuedAtStart: number }> {
  const started = Date.now();
  let queuedAtStart = -1;
  for (;;) {
    const text = await (await fetch(`${base}/metrics`)).text();
    const gauge = (state: string) =>
      Number(new RegExp(`^ensnap_jobs\\{state="${state}"\\} (\\d+)$`, 'm').exec(text)?.[1] ?? 0);
    const pending = gauge('queued') + gauge('running');
    if (queuedAtStart < 0) queuedAtStart = pending;
    if (pending === 0) return { seconds: (Date.now() - started) / 1000, queuedAtStart };
    if (Date.now() - started > 900_000)
      throw new Error(`ensnap's job queue did not drain in 15 min (${pending})`);
    await sleep(250);
  }
}

// --- the load generator ---

function runLoad(job: LoadJob): Promise<LoadResult> {
  return new Promise((resolve, reject) => {
    const child = track(fork(LOADGEN, [], { execArgv: [], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] }));
    let settled = false;
    child.once('message', (message: { result?: LoadResult; error?: string }) => {
      settled = true;
      if (message.result) resolve(message.result);
      else reject(new Error(`load generator: ${message.error}`));
    });
    child.once('exit', (code) => {
      if (!settled) reject(new Error(`load generator exited (${code}) without a result`));
    });
    child.send(job);
  });
}

// --- numbers ---

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
}

const range = (values: number[], digits: number) =>
  `${Math.min(...values).toFixed(digits)}..${Math.max(...values).toFixed(digits)}`;

/** A timed run: what the load generator saw, and the CPU the server used meanwhile. */
type Run = LoadResult & { serverCpuSec: number; jobsLeft?: number };

const cpuPerRequestUs = (r: Run) => (r.serverCpuSec / r.responses) * 1e6;

function describeRun(r: Run): string {
  const codes = Object.entries(r.statusCodes)
    .map(([code, n]) => `${n} x ${code}`)
    .join(', ');
  return (
    `${r.rps.toFixed(0)} req/s, p50 ${r.p50Ms.toFixed(2)} ms, p99 ${r.p99Ms.toFixed(2)} ms, ` +
    `max ${r.maxMs.toFixed(1)} ms; ${r.responses} responses (${codes || 'none'})` +
    (r.errors || r.timeouts ? `, ${r.errors} errors, ${r.timeouts} timeouts` : '') +
    `; server CPU ${cpuPerRequestUs(r).toFixed(0)} us/req (${((100 * r.serverCpuSec) / r.elapsedSec).toFixed(0)}% ` +
    `of a vCPU)` +
    (!Number.isFinite(r.cpuSec) ? '' : `, load generator ${((100 * r.cpuSec) / r.elapsedSec).toFixed(0)}%`) +
    (r.jobsLeft === undefined ? '' : `; snapshot jobs still queued or running after the run: ${r.jobsLeft}`)
  );
}

function problems(r: LoadResult): string[] {
  const out: string[] = [];
  if (r.non2xx > 0) out.push(`${r.non2xx} non-2xx responses (${JSON.stringify(r.statusCodes)})`);
  if (r.errors > 0) out.push(`${r.errors} connection errors`);
  if (r.timeouts > 0) out.push(`${r.timeouts} timeouts`);
  if (r.poolExhausted) out.push(`the pool of ${r.poolSize} signed requests ran out: raise BENCH_MAX_RPS`);
  if (r.responses === 0) out.push('no responses');
  return out;
}

/** Request lines in ensnap's log, and how many of them are not 200. */
async function readLog(file: string): Promise<{ requests: number; non200: number; other: number }> {
  let requests = 0;
  let non200 = 0;
  let other = 0;
  const lines = createInterface({ input: createReadStream(file), crlfDelay: Infinity });
  for await (const line of lines) {
    if (!line.startsWith('{')) continue;
    const entry = JSON.parse(line) as { msg?: string; status?: number };
    if (entry.msg === 'request') {
      requests++;
      if (entry.status !== 200) non200++;
    } else other++;
  }
  return { requests, non200, other };
}

// --- the benchmark ---

/** ensnap called by its root key, ensnap called by a RAM user, the bare server, the plain handler. */
type Server = 'ensnap' | 'ram-user' | 'bare' | 'plain';
const SERVERS: readonly Server[] = ['ensnap', 'ram-user', 'bare', 'plain'];
const isEnsnap = (server: Server) => server === 'ensnap' || server === 'ram-user';

/**
 * A RAM user whose CreateSnapshot is allowed only after every statement is looked at: 10 custom
 * policies of 10 statements each (Deny statements on other actions and resources, Allows of other
 * actions, conditions), the one Allow that matches being the last statement of the last policy,
 * with a source-IP condition.
 */
async function benchUser(base: string): Promise<Credentials> {
  const ram = (action: string, params: Record<string, string>) =>
    callSigned(base, action, params, RAM_VERSION);
  await ram('CreateUser', { UserName: 'bench-user' });
  for (let p = 0; p < 10; p++) {
    const statements: Record<string, unknown>[] = [];
    for (let i = 0; i < 10; i++) {
      const last = p === 9 && i === 9;
      const kind = i % 4;
      statements.push(
        last
          ? {
              Effect: 'Allow',
              Action: 'ens:CreateSnapshot',
              Resource: 'acs:ens:*:*:disk/*',
              Condition: { IpAddress: { 'acs:SourceIp': ['10.0.0.0/8', '127.0.0.0/8', '::1'] } },
            }
          : kind === 0
            ? {
                Effect: 'Deny',
                Action: [`ens:Delete*`, `ens:Reset*`],
                Resource: `acs:ens:*:*:disk/d-keep${p}${i}*`,
              }
            : kind === 1
              ? { Effect: 'Allow', Action: [`ens:Describe*`, `ens:List*`], Resource: '*' }
              : kind === 2
                ? {
                    Effect: 'Deny',
                    Action: 'ens:*',
                    Resource: '*',
                    Condition: { IpAddress: { 'acs:SourceIp': `192.0.2.${p * 10 + i}/32` } },
                  }
                : {
                    Effect: 'Allow',
                    Action: `ens:Modify${p}${i}*`,
                    Resource: `acs:ens:*:*:snapshot/s-${p}${i}?*`,
                    Condition: { DateGreaterThan: { 'acs:CurrentTime': '2020-01-01T00:00:00Z' } },
                  },
      );
    }
    const PolicyName = `bench-policy-${p}`;
    await ram('CreatePolicy', {
      PolicyName,
      PolicyDocument: JSON.stringify({ Version: '1', Statement: statements }),
    });
    await ram('AttachPolicyToUser', { PolicyType: 'Custom', PolicyName, UserName: 'bench-user' });
  }
  const key = (await ram('CreateAccessKey', { UserName: 'bench-user' })).json.AccessKey as {
    AccessKeyId: string;
    AccessKeySecret: string;
  };
  return { accessKeyId: key.AccessKeyId, accessKeySecret: key.AccessKeySecret };
}

async function main(): Promise<number> {
  for (const file of [ENSNAP_MAIN, BARE_SERVER, LOADGEN]) {
    if (!existsSync(file)) throw new Error(`${file} is missing: run \`npm run build\` first`);
  }
  const autocannonVersion = (
    JSON.parse(readFileSync(path.join(ROOT, 'node_modules/autocannon/package.json'), 'utf8')) as {
      version: string;
    }
  ).version;
  const dir = mkdtempSync(path.join(os.tmpdir(), 'ensnap-bench-'));
  tempDir = dir;
  const { durationSec, runs, warmupSec, connections } = settings;

  console.log(
    `# bench:api: signed CreateSnapshot on ensnap vs a bare node:http server and a plain handler, 127.0.0.1`,
  );
  console.log(
    `- node ${process.version}, load generator ${
      settings.tool === 'wrk'
        ? `${spawnSync('wrk', ['-v']).stdout.toString().split('\n')[0]?.split(' ')[1] ?? 'wrk'} (wrk -t2, Lua: one pre-signed target per request)`
        : `autocannon ${autocannonVersion}`
    }, ${os.cpus().length} vCPU ` +
      `(${os.cpus()[0]?.model ?? '?'}), load average ${os
        .loadavg()
        .map((l) => l.toFixed(2))
        .join(' ')}`,
  );
  console.log(
    `- ${connections} connections, ${durationSec} s per run, ${warmupSec} s warmup per server, ` +
      `${runs} rounds (servers alternate; order flips each round); the load generator is its own process per run`,
  );
  console.log(
    `- ensnap: default settings (log level info, jobs ${settings.jobs}, SQLite WAL synchronous=FULL, group commit), ` +
      `data in ${path.join(dir, 'data')}; its stdout (one log line per request) goes to ` +
      (settings.log === 'file' ? path.join(dir, 'ensnap.log') : '/dev/null') +
      (settings.cpuProfDir ? `; CPU profile into ${settings.cpuProfDir}` : ''),
  );

  let failed = false;
  try {
    const ensnap = await startEnsnap(dir);
    const disk = await callSigned(ensnap.base, 'CreateDisk', {
      EnsRegionId: REGION,
      Category: 'cloud_efficiency',
      InstanceChargeType: 'PostPaid',
      Size: '20',
    });
    const diskId = (disk.json.InstanceIds as string[] | undefined)?.[0];
    if (typeof diskId !== 'string') throw new Error(`CreateDisk gave no disk id: ${disk.body}`);
    const snapshotParams = { DiskId: diskId, EnsRegionId: REGION, SnapshotName: 'bench-snapshot' };
    const probe = await callSigned(ensnap.base, 'CreateSnapshot', snapshotParams);
    if (typeof probe.json.SnapShotId !== 'string')
      throw new Error(`unexpected CreateSnapshot answer: ${probe.body}`);
    const bare = await startReference('bare', probe.body, dir);
    const bareBody = await (await fetch(bare.base)).text();
    if (bareBody.length !== probe.body.length) throw new Error('the bare body differs in size from ensnap');
    const plain = await startReference('plain', probe.body, dir);
    const plainBody = (await callSigned(plain.base, 'CreateSnapshot', snapshotParams)).body;
    if (plainBody.length !== probe.body.length) throw new Error('the plain body differs in size from ensnap');
    console.log(`- disk ${diskId}; response body ${probe.body.length} B on all: ${probe.body}`);
    console.log(
      '- plain: node:http, the signature V1 checked (HMAC-SHA1) and one row inserted into SQLite ' +
        '(WAL, synchronous=NORMAL, autocommit) per request, then the same body',
    );
    const sample = signRequests(CREDENTIALS, VERSION, 'CreateSnapshot', snapshotParams, 1)[0] as string;
    console.log(`- each request: GET with a ${sample.length} B target and pop-core's headers, its own nonce`);
    console.log('');

    const user = await benchUser(ensnap.base);
    const userProbe = await callSigned(ensnap.base, 'CreateSnapshot', snapshotParams, VERSION, user);
    if (userProbe.body.length !== probe.body.length) throw new Error('the RAM user got another answer');
    console.log(
      '- ram-user: the same CreateSnapshot signed by a RAM user with 10 custom policies of 10 statements ' +
        'each, the matching Allow the last statement of the last one (conditions on source IP and time)',
    );
    const base = { ensnap: ensnap.base, 'ram-user': ensnap.base, bare: bare.base, plain: plain.base };
    const credentials = { ensnap: CREDENTIALS, 'ram-user': user, bare: CREDENTIALS, plain: CREDENTIALS };
    let ensnapSent = 3 + 1 + 10 * 2 + 1; // CreateDisk, the probes, the RAM user's setup
    let ensnapOk = ensnapSent;
    const drains: number[] = [];
    const child = { ensnap: ensnap.child, 'ram-user': ensnap.child, bare: bare.child, plain: plain.child };
    const load = async (server: Server, seconds: number): Promise<Run> => {
      if (settings.jobs === 'on') {
        const drained = await drainJobs(ensnap.base);
        if (drained.queuedAtStart > 0) drains.push(drained.seconds);
      }
      const cpuBefore = cpuSeconds(child[server]);
      const loadResult = await runLoad({
        tool: settings.tool,
        url: base[server],
        connections,
        durationSec: seconds,
        headers: popCoreHeaders('CreateSnapshot', VERSION),
        pool: {
          credentials: credentials[server],
          version: VERSION,
          action: 'CreateSnapshot',
          params: snapshotParams,
          // ensnap refuses a nonce seen before; the references do not look.
          size: isEnsnap(server) ? Math.ceil(settings.maxRps * (seconds + 2)) : 2000,
          reuse: !isEnsnap(server),
        },
      });
      const result: Run = { ...loadResult, serverCpuSec: cpuSeconds(child[server]) - cpuBefore };
      if (isEnsnap(server) && settings.jobs === 'on') result.jobsLeft = await pendingJobs(ensnap.base);
      if (isEnsnap(server)) {
        ensnapSent += result.poolUsed;
        ensnapOk += result.statusCodes['200'] ?? 0;
      }
      const wrong = problems(result);
      if (wrong.length > 0) {
        failed = true;
        console.log(`!! ${server}: ${wrong.join('; ')}`);
      }
      return result;
    };

    if (warmupSec > 0) {
      for (const server of SERVERS) {
        console.log(`warmup ${server.padEnd(8)}: ${describeRun(await load(server, warmupSec))}`);
      }
    }
    const results: Record<Server, Run[]> = { ensnap: [], 'ram-user': [], bare: [], plain: [] };
    for (let round = 1; round <= runs && !failed; round++) {
      // Each round starts with the next server, so that none always runs first.
      const order = SERVERS.map((_, i) => SERVERS[(i + round - 1) % SERVERS.length] as Server);
      for (const server of order) {
        const r = await load(server, durationSec);
        results[server].push(r);
        console.log(`run ${round}/${runs} ${server.padEnd(8)}: ${describeRun(r)}`);
      }
    }
    if (settings.jobs === 'on') await drainJobs(ensnap.base);

    const code = await stopChild(ensnap.child);
    await stopChild(bare.child);
    await stopChild(plain.child);
    if (code !== 0) {
      failed = true;
      console.log(`!! ensnap exited with ${code}`);
    }

    // What ensnap recorded must match what the load generator saw.
    console.log('');
    const db = new Database(path.join(ensnap.dataDir, 'ensnap.db'), { readonly: true });
    const snapshots = (db.prepare('SELECT COUNT(*) AS n FROM snapshots').get() as { n: number }).n;
    db.close();
    // Requests in flight when a run stops are still served (and logged, and stored) after the
    // load generator has hung up: allow up to `connections` of them per run.
    const slack = connections * 2 * (results.ensnap.length + (warmupSec > 0 ? 1 : 0));
    const snapshotsExpected = ensnapOk - 1 - 1 - 10 * 2 - 1; // the CreateDisk and the RAM setup are no snapshots
    const snapshotsOk = snapshots >= snapshotsExpected && snapshots <= snapshotsExpected + slack;
    console.log(
      `check: ${snapshots} snapshots in ensnap's database for ${snapshotsExpected} successful CreateSnapshot ` +
        `answers received (+ up to ${slack} in flight at run ends): ${snapshotsOk ? 'ok' : 'MISMATCH'}`,
    );
    if (!snapshotsOk) failed = true;
    if (ensnap.logFile) {
      const log = await readLog(ensnap.logFile);
      // autocannon counts what it sent; wrk only what was answered, so up to `slack` more may have
      // reached ensnap while a run ended.
      const most = settings.tool === 'wrk' ? ensnapSent + slack : ensnapSent;
      const logOk = log.non200 === 0 && log.requests >= ensnapSent - slack && log.requests <= most;
      console.log(
        `check: ${log.requests} request lines in ensnap's log (${log.non200} not 200, ${log.other} other lines) ` +
          `for ${ensnapSent} requests sent: ${logOk ? 'ok' : 'MISMATCH'}`,
      );
      if (!logOk) failed = true;
    }
    if (drains.length > 0) {
      console.log(
        `note: ensnap's snapshot jobs lag behind under load; before the next run the queue took ` +
          `${range(drains, 1)} s to drain (median ${median(drains).toFixed(1)} s)`,
      );
    }
    if (SERVERS.some((server) => results[server].length < runs)) throw new Error('runs were cut short');

    const summary = (server: Server) => {
      const rs = results[server];
      const rps = rs.map((r) => r.rps);
      const p50 = rs.map((r) => r.p50Ms);
      const p99 = rs.map((r) => r.p99Ms);
      const cpu = rs.map(cpuPerRequestUs);
      const cells = [
        server,
        median(rps).toFixed(0),
        range(rps, 0),
        median(p50).toFixed(2),
        range(p50, 2),
        median(p99).toFixed(2),
        range(p99, 2),
        median(cpu).toFixed(0),
        String(rs.reduce((n, r) => n + r.non2xx, 0)),
        String(rs.length),
      ];
      return { rps: median(rps), p50: median(p50), p99: median(p99), row: `| ${cells.join(' | ')} |` };
    };
    const e = summary('ensnap');
    const u = summary('ram-user');
    const b = summary('bare');
    const p = summary('plain');
    const ratio = e.rps / b.rps;
    const pairRatios = results.ensnap.map((r, i) => r.rps / (results.bare[i] as Run).rps);
    console.log('');
    console.log(
      '| server | req/s median | req/s min..max | p50 ms median | p50 min..max | p99 ms median | p99 min..max | server CPU us/req | non-2xx | runs |',
    );
    console.log('|---|---|---|---|---|---|---|---|---|---|');
    console.log(e.row);
    console.log(u.row);
    console.log(b.row);
    console.log(p.row);
    console.log('');
    const ratioPass = ratio >= TARGET_RATIO;
    const p99Pass = e.p99 <= TARGET_P99_MS;
    console.log(
      `ratio ensnap/bare req/s: ${(ratio * 100).toFixed(1)}% (per round ${pairRatios
        .map((r) => (r * 100).toFixed(1) + '%')
        .join(', ')}) target >= ${TARGET_RATIO * 100}%: ${ratioPass ? 'PASS' : 'FAIL'}`,
    );
    console.log(
      `ensnap p99: ${e.p99.toFixed(2)} ms, target <= ${TARGET_P99_MS} ms: ${p99Pass ? 'PASS' : 'FAIL'}`,
    );
    const perRound = (server: Server, over: Server) =>
      results[server]
        .map((r, i) => `${((100 * r.rps) / (results[over][i] as Run).rps).toFixed(1)}%`)
        .join(', ');
    console.log(
      `calibration: plain handler / bare req/s: ${((100 * p.rps) / b.rps).toFixed(1)}% (per round ` +
        `${perRound('plain', 'bare')}); ensnap / plain handler: ${((100 * e.rps) / p.rps).toFixed(1)}% ` +
        `(per round ${perRound('ensnap', 'plain')}); not a target`,
    );
    const authz = u.rps / e.rps;
    const authzPass = authz >= TARGET_AUTHZ_RATIO;
    const authzRounds = results['ram-user'].map((r, i) => r.rps / (results.ensnap[i] as Run).rps);
    console.log(
      `authorization: RAM user / root req/s: ${(authz * 100).toFixed(1)}% (per round ${authzRounds
        .map((r) => (r * 100).toFixed(1) + '%')
        .join(', ')}) target >= ${TARGET_AUTHZ_RATIO * 100}%: ${authzPass ? 'PASS' : 'FAIL'}`,
    );
    const pass = ratioPass && p99Pass && authzPass;
    console.log(
      failed ? 'RESULT: INVALID (see the !! lines and checks above)' : `RESULT: ${pass ? 'PASS' : 'FAIL'}`,
    );
    if (failed) return 1;
    return process.env.BENCH_ENFORCE === '1' && !pass ? 3 : 0;
  } finally {
    await Promise.all([...children].map((child) => stopChild(child, 5_000)));
    if (settings.keep) console.log(`kept ${dir}`);
    else rmSync(dir, { recursive: true, force: true });
    tempDir = undefined;
  }
}

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    killAllNow();
    if (tempDir && !settings.keep) rmSync(tempDir, { recursive: true, force: true });
    process.exit(130);
  });
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    killAllNow();
    console.error(`bench:api failed: ${error instanceof Error ? error.message : String(error)}`);
    process.exitCode = 1;
  },
);
