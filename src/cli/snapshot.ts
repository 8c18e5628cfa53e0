// `ensnap snapshot export <SnapshotId> <file>`.
import { CLIENT_ENVIRONMENT, clientFromEnv, positionals, UsageError } from './env.js';
import { humanBytes } from './progress.js';
import { exportToFile } from './transfer.js';

export const SNAPSHOT_USAGE = `usage: ensnap snapshot export <SnapshotId> <file>

Writes the snapshot's content (the disk's bytes when CreateSnapshot returned) to <file>: the
disk's full size, sparse (only the ranges holding data are read; zero blocks stay holes). The
snapshot must be available. It is written to <file>.part, flushed and renamed, so <file> is
complete or absent; on an error or Ctrl-C the .part is removed and the exit status is non-zero.
An existing <file> is replaced.

Progress goes to stderr (a live line on a terminal, a line a second otherwise).
Exit status: 0 done, 1 failed (the server's error code and message are printed), 2 usage or
configuration error, 130/143 interrupted.

${CLIENT_ENVIRONMENT}`;

export async function snapshotCommand(argv: string[]): Promise<void> {
  const [sub, ...rest] = argv;
  if (sub === undefined || sub === '--help' || sub === '-h' || sub === 'help') {
    process.stdout.write(SNAPSHOT_USAGE);
    if (sub === undefined) process.exitCode = 2;
    return;
  }
  if (sub !== 'export') throw new UsageError(`unknown command: snapshot ${sub} (see ensnap snapshot --help)`);
  const args = positionals(rest, ['SnapshotId', 'file'], SNAPSHOT_USAGE);
  if (!args) return;
  const [snapshotId, file] = args as [string, string];
  const client = clientFromEnv();
  try {
    const extents = await client.snapshotExtents(snapshotId);
    const r = await exportToFile(`export ${snapshotId}`, file, extents, (offset, length) =>
      client.readSnapshot(snapshotId, offset, length),
    );
    process.stdout.write(
      `exported ${snapshotId} to ${file}: ${humanBytes(r.sizeBytes)}, ${humanBytes(r.dataBytes)} of data\n`,
    );
  } finally {
    client.close();
  }
}
