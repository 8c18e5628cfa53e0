// Running the `ensnap` command as a user does: a child process of dist/src/cli/main.js with only
// the environment given (and PATH).
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const MAIN = path.join(path.dirname(fileURLToPath(import.meta.url)), '../../src/cli/main.js');

export interface Run {
  code: number | string;
  stdout: string;
  stderr: string;
}

export function ensnap(
  args: string[],
  env: Record<string, string | undefined>,
  onStderr?: (text: string) => void,
): { child: ChildProcess; done: Promise<Run> } {
  const child = spawn(process.execPath, [MAIN, ...args], {
    env: { PATH: process.env.PATH, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
  child.stderr.on('data', (c: Buffer) => {
    stderr += c.toString();
    onStderr?.(stderr);
  });
  const done = new Promise<Run>((resolve) =>
    child.on('exit', (code, signal) => resolve({ code: code ?? signal ?? 'unknown', stdout, stderr })),
  );
  return { child, done };
}
