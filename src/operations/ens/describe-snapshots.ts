import type { Snapshot } from '../../domain/model.js';
import { defineOperation, idList, integer, pageNumber, string } from '../spec.js';
import { intersect } from './describe-disks.js';
import { isoTime } from './render-time.js';

export default defineOperation({
  version: '2017-11-10',
  action: 'DescribeSnapshots',
  ramAction: 'ens:DescribeSnapshots',
  accessLevel: 'list',
  params: {
    SnapshotId: idList(100, true),
    EnsRegionId: string(),
    EnsRegionIds: idList(100, false),
    DiskId: string(),
    InstanceId: string(),
    SnapshotName: string(),
    PageNumber: pageNumber(),
    PageSize: integer(1, 100),
  },
  coverage: { status: 'complete' },
  async handle(ctx, input) {
    const page = { pageNumber: input.PageNumber ?? 1, pageSize: input.PageSize ?? 10 };
    const result = await ctx.snapshots.describe(
      ctx.caller,
      {
        snapshotIds: input.SnapshotId,
        regionIds: intersect(input.EnsRegionId, input.EnsRegionIds),
        diskId: input.DiskId,
        name: input.SnapshotName,
        instanceId: input.InstanceId,
      },
      page,
    );
    return {
      PageNumber: page.pageNumber,
      PageSize: page.pageSize,
      TotalCount: result.totalCount,
      Snapshots: result.items.map(renderSnapshot),
    };
  },
});

function renderSnapshot(s: Snapshot): Record<string, unknown> {
  return {
    SnapshotId: s.id,
    SnapshotName: s.name,
    Description: s.description,
    Status: s.status,
    CreationTime: isoTime(s.createdMs),
    EnsRegionId: s.regionId,
    Size: String(s.sizeMib),
    SourceDiskId: s.diskId,
    SourceDiskType: s.diskType,
    SourceDiskCategory: s.diskCategory,
    SourceEnsRegionId: s.sourceRegionId,
    SourceSnapshotId: s.sourceSnapshotId,
  };
}
