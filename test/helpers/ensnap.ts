// Starting ensnap for a test: in-process on a free port with a fresh data directory, or as a child
// process (for kill and signal tests). Tests talk to it only over HTTP.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pino from 'pino';
import { createEnsnap, type Ensnap } from '../../src/app.js';
import { loadConfig } from '../../src/config/config.js';

export interface Running {
  endpoint: string;
  /** host:port, as openapi-client's endpoint wants it. */
  hostPort: string;
  accessKeyId: string;
  accessKeySecret: string;
  dataDir: string;
  stop(): Promise<void>;
}

export function tempDataDir(): string {
  return mkdtempSync(path.join(tmpdir(), 'ensnap-test-'));
}

export const TEST_KEY = { id: 'LTAItestRootKey0001', secret: 'testRootSecret0001' };

/** The environment that points the `ensnap` CLI at a server with its root key. */
export function cliEnv(server: Running): Record<string, string> {
  return {
    ENSNAP_ENDPOINT: server.endpoint,
    ENSNAP_ACCESS_KEY_ID: server.accessKeyId,
    ENSNAP_ACCESS_KEY_SECRET: server.accessKeySecret,
  };
}

/** In-process server. `env` takes the same variables as the real service. */
export async function startEnsnap(
  env: Record<string, string> = {},
  dataDir = tempDataDir(),
): Promise<Running & { app: Ensnap }> {
  const config = loadConfig(
    {},
    {
      ENSNAP_PORT: '0',
      ENSNAP_DATA_DIR: dataDir,
      ENSNAP_ROOT_ACCESS_KEY_ID: TEST_KEY.id,
      ENSNAP_ROOT_ACCESS_KEY_SECRET: TEST_KEY.secret,
      // Many tests take more snapshots of one disk than the default quota allows.
      ENSNAP_SNAPSHOTS_PER_DISK: '0',
      ...env,
    },
  );
  const app = await createEnsnap(config, pino({ level: 'silent' }));
  const endpoint = await app.listen();
  return {
    app,
    endpoint,
    hostPort: new URL(endpoint).host,
    accessKeyId: app.root.accessKeyId,
    accessKeySecret: app.root.accessKeySecret,
    dataDir,
    async stop() {
      await app.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

const MAIN = path.join(path.dirname(fileURLToPath(import.meta.url)), '../../src/cli/main.js');

export interface Child {
  process: ChildProcess;
  endpoint: string;
  hostPort: string;
  accessKeyId: string;
  accessKeySecret: string;
  output(): string;
  /** Resolves with the exit code (or the signal name). */
  exited: Promise<number | string>;
}

/** `ensnap serve` as a child process; resolves once it prints its endpoint. */
export function spawnEnsnap(dataDir: string, env: Record<string, string> = {}): Promise<Child> {
  const child = spawn(process.execPath, [MAIN, 'serve'], {
    env: {
      ...process.env,
      ENSNAP_PORT: '0',
      ENSNAP_DATA_DIR: dataDir,
      ENSNAP_ROOT_ACCESS_KEY_ID: TEST_KEY.id,
      ENSNAP_ROOT_ACCESS_KEY_SECRET: TEST_KEY.secret,
      ENSNAP_LOG_LEVEL: 'warn',
      ENSNAP_SNAPSHOTS_PER_DISK: '0',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  const exited = new Promise<number | string>((resolve) =>
    child.on('exit', (code, signal) => resolve(code ?? signal ?? 'unknown')),
  );
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`ensnap did not start:\n${out}`)), 15_000);
    const onData = (chunk: Buffer) => {
      out += chunk.toString();
      const m = /listening on (http:\/\/\S+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        const endpoint = m[1] as string;
        resolve({
          process: child,
          endpoint,
          hostPort: new URL(endpoint).host,
          accessKeyId: TEST_KEY.id,
          accessKeySecret: TEST_KEY.secret,
          output: () => out,
          exited,
        });
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`ensnap exited (${code}) before listening:\n${out}`));
    });
  });
}
