import type { ExtentPage } from '../../domain/disk-data.js';

/** DescribeDiskExtents / DescribeSnapshotExtents: the size, one page of extents, where the next starts. */
export function renderExtents(page: ExtentPage): Record<string, unknown> {
  return {
    SizeBytes: page.sizeBytes,
    Extents: page.extents.map((e) => ({ Offset: e.offset, Length: e.length })),
    ...(page.nextOffset === undefined ? {} : { NextOffset: page.nextOffset }),
    // Disks only: whether a restore is still copying the snapshot in, and how far (whole percent).
    ...(page.restore === undefined
      ? {}
      : { Restoring: page.restore < 1, RestoreProgress: Math.floor(page.restore * 100) }),
  };
}
