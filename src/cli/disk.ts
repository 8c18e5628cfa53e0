// `ensnap disk import <DiskId> <file>` and `ensnap disk export <DiskId> <file>`.
import { CLIENT_ENVIRONMENT, clientFromEnv, positionals, UsageError } from './env.js';
import { humanBytes } from './progress.js';
import { exportToFile, importFile } from './transfer.js';

export const DISK_USAGE = `usage: ensnap disk import <DiskId> <file>
       ensnap disk export <DiskId> <file>

import  Writes the raw image <file> to the disk from offset 0 (the image may be smaller than the
        disk; the disk beyond it is left as it is). All-zero blocks are skipped where the disk
        holds no data and written where it does, so the disk reads back as the image. Writes go
        4 MiB at a time, 4 in flight, each durable when acknowledged; an interrupted import
        leaves the disk partly written: run it again.
export  Writes the disk's current content to <file>: the disk's full size, sparse (only the
        ranges holding data are read; zero blocks stay holes). It is written to <file>.part,
        flushed and renamed, so <file> is complete or absent; on an error or Ctrl-C the .part is
        removed and the exit status is non-zero. An existing <file> is replaced.

Progress goes to stderr (a live line on a terminal, a line a second otherwise).
Exit status: 0 done, 1 failed (the server's error code and message are printed), 2 usage or
configuration error, 130/143 interrupted.

${CLIENT_ENVIRONMENT}`;

export async function diskCommand(argv: string[]): Promise<void> {
  const [sub, ...rest] = argv;
  if (sub === undefined || sub === '--help' || sub === '-h' || sub === 'help') {
    process.stdout.write(DISK_USAGE);
    if (sub === undefined) process.exitCode = 2;
    return;
  }
  if (sub !== 'import' && sub !== 'export')
    throw new UsageError(`unknown command: disk ${sub} (see ensnap disk --help)`);
  const args = positionals(rest, ['DiskId', 'file'], DISK_USAGE);
  if (!args) return;
  const [diskId, file] = args as [string, string];
  const client = clientFromEnv();
  try {
    if (sub === 'import') {
      const r = await importFile(client, diskId, file);
      process.stdout.write(
        `imported ${file} (${humanBytes(r.fileBytes)}) into ${diskId}: ${humanBytes(r.writtenBytes)} written\n`,
      );
    } else {
      const extents = await client.diskExtents(diskId);
      const r = await exportToFile(`export ${diskId}`, file, extents, (offset, length) =>
        client.readDisk(diskId, offset, length),
      );
      process.stdout.write(
        `exported ${diskId} to ${file}: ${humanBytes(r.sizeBytes)}, ${humanBytes(r.dataBytes)} of data\n`,
      );
    }
  } finally {
    client.close();
  }
}
