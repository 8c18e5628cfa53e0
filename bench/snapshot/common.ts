// Shared pieces of the snapshot benchmark: child processes (tracked, stopped by PID), timed
// commands, repeated measurements, sizes and hashes.
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { lstat, open, readdir } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';

// --- child processes: every one started here is tracked, and stopped by its own PID ---

const children = new Set<ChildProcess>();

export function track(child: ChildProcess): ChildProcess {
  children.add(child);
  child.once('exit', () => children.delete(child));
  child.once('error', () => children.delete(child));
  return child;
}

export function exited(child: ChildProcess): boolean {
  return child.exitCode !== null || child.signalCode !== null;
}

/** Sends `name` to the child's PID; false if it is gone. */
export function signalChild(child: ChildProcess, name: NodeJS.Signals): boolean {
  if (exited(child) || child.pid === undefined) return false;
  try {
    process.kill(child.pid, name);
    return true;
  } catch {
    return false;
  }
}

/** SIGTERM, then SIGKILL after `graceMs`; resolves with the exit code or signal. */
export function stopChild(child: ChildProcess, graceMs = 15_000): Promise<number | string> {
  return new Promise((resolve) => {
    if (exited(child) || child.pid === undefined) {
      resolve(child.exitCode ?? child.signalCode ?? 'gone');
      return;
    }
    const timer = setTimeout(() => signalChild(child, 'SIGKILL'), graceMs);
    child.once('exit', (code, sig) => {
      clearTimeout(timer);
      resolve(code ?? sig ?? 'unknown');
    });
    signalChild(child, 'SIGTERM');
  });
}

export function stopAll(graceMs = 5_000): Promise<unknown> {
  return Promise.all([...children].map((child) => stopChild(child, graceMs)));
}

/** For a signal handler: SIGKILL to every tracked child, now. */
export function killAllNow(): void {
  for (const child of children) signalChild(child, 'SIGKILL');
}

export class CommandError extends Error {
  constructor(
    message: string,
    readonly code: number | string,
    readonly output: string,
  ) {
    super(message);
  }
}

export interface RunOptions {
  env?: NodeJS.ProcessEnv;
  cwd?: string;
}

/**
 * Runs a command to completion; resolves with its wall time in seconds (spawn to exit) and its
 * output (stdout + stderr, the last 64 KiB). A non-zero exit rejects with a CommandError.
 */
export function run(
  command: string,
  args: string[],
  options: RunOptions = {},
): Promise<{ seconds: number; output: string }> {
  return new Promise((resolve, reject) => {
    const spawnOptions: SpawnOptions = { stdio: ['ignore', 'pipe', 'pipe'] };
    if (options.env) spawnOptions.env = options.env;
    if (options.cwd) spawnOptions.cwd = options.cwd;
    const started = performance.now();
    const child = track(spawn(command, args, spawnOptions));
    let output = '';
    const collect = (chunk: Buffer) => {
      output += chunk.toString();
      if (output.length > 128 * 1024) output = output.slice(-64 * 1024);
    };
    child.stdout?.on('data', collect);
    child.stderr?.on('data', collect);
    child.once('error', (error) => reject(error));
    child.once('close', (code, sig) => {
      const seconds = (performance.now() - started) / 1000;
      if (code === 0) resolve({ seconds, output });
      else
        reject(
          new CommandError(
            `\`${[command, ...args].join(' ')}\` exited with ${code ?? sig}: ${output.trim().slice(-2000)}`,
            code ?? sig ?? 'unknown',
            output,
          ),
        );
    });
  });
}

/** `sync`: flushes dirty pages, so one measurement does not pay for the previous one's writes. */
export async function syncDisks(): Promise<void> {
  await run('sync', []);
}

/** True when `command` can be started (`args` should make it exit at once, e.g. `version`). */
export async function available(command: string, args: string[]): Promise<string | undefined> {
  try {
    return (await run(command, args)).output.trim().split('\n')[0];
  } catch {
    return undefined;
  }
}

// --- measurements ---

export type Unit = 's' | 'ms' | 'B' | 'MiB';

/** One measured figure: every run's value (a single value for what is measured once). */
export interface Figure {
  id: string;
  label: string;
  unit: Unit;
  values: number[];
  note?: string;
}

export function median(values: number[]): number {
  if (values.length === 0) return NaN;
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
}

/** Nearest-rank percentile (p in 0..1). */
export function percentile(values: number[], p: number): number {
  if (values.length === 0) return NaN;
  const s = [...values].sort((a, b) => a - b);
  return s[Math.max(1, Math.ceil(p * s.length)) - 1] as number;
}

export interface Repeat {
  /** Untimed set-up before every run (warmup included). */
  prepare?: () => Promise<void>;
  /** The timed part; resolves with seconds (when it times itself) or nothing (timed here). */
  measure: () => Promise<number | void>;
  /** Untimed, after every run (e.g. reading the stored size); gets the run index (-1 = warmup). */
  after?: (index: number) => Promise<void>;
}

/** One warmup, then `runs` timed runs; returns the timed runs' seconds. */
export async function repeat(label: string, runs: number, r: Repeat, log = true): Promise<number[]> {
  const times: number[] = [];
  for (let i = -1; i < runs; i++) {
    if (r.prepare) await r.prepare();
    const started = performance.now();
    const own = await r.measure();
    const seconds = typeof own === 'number' ? own : (performance.now() - started) / 1000;
    if (r.after) await r.after(i);
    if (i >= 0) times.push(seconds);
    if (log) console.log(`  ${label}: ${i < 0 ? 'warmup' : `run ${i + 1}/${runs}`} ${seconds.toFixed(3)} s`);
  }
  return times;
}

// --- files ---

/** Flushes one file to disk (fsync); returns the seconds it took. */
export async function flushFile(file: string): Promise<number> {
  const started = performance.now();
  const handle = await open(file, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
  return (performance.now() - started) / 1000;
}

/** Apparent size of a file or a tree (file sizes plus directory entries' sizes, like `du -sb`). */
export async function apparentSize(target: string): Promise<number> {
  const st = await lstat(target);
  if (!st.isDirectory()) return st.size;
  let total = st.size;
  for (const entry of await readdir(target)) total += await apparentSize(path.join(target, entry));
  return total;
}

/**
 * Drops the (clean) page-cache pages of every file under `dir`: `dd iflag=nocache count=0` asks
 * the kernel to (posix_fadvise DONTNEED), no root needed. Call after a sync.
 */
export async function evictFromPageCache(dir: string): Promise<void> {
  const entries = await readdir(dir, { withFileTypes: true });
  for (const entry of entries) {
    const file = path.join(dir, entry.name);
    if (entry.isDirectory()) await evictFromPageCache(file);
    else if (entry.isFile()) await run('dd', [`if=${file}`, 'iflag=nocache', 'count=0', 'status=none']);
  }
}

/** Allocated bytes of a file (sparse-aware). */
export async function allocatedSize(file: string): Promise<number> {
  return (await lstat(file)).blocks * 512;
}

/** The sha256 of a file, or of its first `length` bytes. */
export function sha256File(file: string, length?: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const hash = createHash('sha256');
    const range = length === undefined ? {} : { start: 0, end: length - 1 };
    createReadStream(file, { highWaterMark: 4 * 1024 * 1024, ...range })
      .on('data', (chunk) => hash.update(chunk))
      .once('error', reject)
      .once('end', () => resolve(hash.digest('hex')));
  });
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The environment without the variables whose prefix is listed (so a user's settings do not leak in). */
export function cleanEnv(...prefixes: string[]): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (!prefixes.some((p) => k.startsWith(p))) env[k] = v;
  }
  return env;
}

export const errorText = (error: unknown) => (error instanceof Error ? error.message : String(error));
