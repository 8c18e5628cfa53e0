// `ensnap verify`: the server re-hashes every stored chunk and checks every snapshot's manifest.
import { CLIENT_ENVIRONMENT, clientFromEnv, positionals } from './env.js';
import { humanBytes, humanDuration } from './progress.js';

export const VERIFY_USAGE = `usage: ensnap verify

Asks the server to re-read and re-hash every stored chunk and to check every snapshot's
manifest (the operator only: the root key of account 1000000000000001). Prints each problem
with the snapshots it affects.
Exit status: 0 clean, 1 problems found (or the request failed), 2 usage or configuration error.

${CLIENT_ENVIRONMENT}`;

export async function verifyCommand(argv: string[]): Promise<void> {
  if (!positionals(argv, [], VERIFY_USAGE)) return;
  const client = clientFromEnv();
  const started = Date.now();
  // The check is one request: on a terminal, show that it is still running.
  const ticker = process.stderr.isTTY
    ? setInterval(
        () => process.stderr.write(`\r\x1b[Kverifying… ${humanDuration((Date.now() - started) / 1000)}`),
        500,
      )
    : undefined;
  try {
    const report = await client.verify();
    if (ticker) process.stderr.write('\r\x1b[K');
    for (const problem of report.problems) {
      const affected = problem.snapshotIds.length > 0 ? problem.snapshotIds.join(', ') : 'no snapshot';
      process.stdout.write(`PROBLEM ${problem.what}\n  affects: ${affected}\n`);
    }
    const seconds = (Date.now() - started) / 1000;
    process.stdout.write(
      `${report.problems.length === 0 ? 'OK' : `${report.problems.length} problem(s)`}: ` +
        `${report.chunks} chunks (${humanBytes(report.bytes)}) and ${report.snapshots} snapshots checked ` +
        `in ${humanDuration(seconds)}\n`,
    );
    if (report.problems.length > 0) process.exitCode = 1;
  } finally {
    clearInterval(ticker);
    client.close();
  }
}
