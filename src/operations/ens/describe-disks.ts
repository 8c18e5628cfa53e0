import type { Disk, DiskFilter } from '../../domain/model.js';
import { invalidParameter } from '../../errors/catalog.js';
import { defineOperation, idList, ignored, integer, jsonObject, oneOf, pageNumber, string } from '../spec.js';
import { isoTime } from './render-time.js';

const SORT_KEYS = {
  DiskNameSort: 'name',
  EnsRegionIdSort: 'region',
  CreationTimeSort: 'created',
  SizeSort: 'size',
} as const;

export default defineOperation({
  version: '2017-11-10',
  action: 'DescribeDisks',
  ramAction: 'ens:DescribeDisks',
  accessLevel: 'list',
  params: {
    DiskId: string(),
    DiskIds: idList(100, false),
    EnsRegionId: string(),
    EnsRegionIds: idList(100, false),
    InstanceId: string(),
    Category: oneOf(['cloud_efficiency', 'cloud_ssd', 'local_hdd', 'local_ssd']),
    DiskChargeType: string(),
    DiskName: string(),
    DiskType: string(),
    SnapshotId: string(),
    Status: string(),
    Type: oneOf(['system', 'data']),
    OrderByParams: jsonObject(),
    PageNumber: pageNumber(),
    PageSize: integer(1, 50),
    ResourceGroupId: ignored(),
  },
  coverage: { status: 'complete', missing: 'DiskType filters nothing (every ensnap disk is pay-as-you-go)' },
  async handle(ctx, input) {
    const filter: DiskFilter = {
      diskIds: intersect(input.DiskId, input.DiskIds),
      regionIds: intersect(input.EnsRegionId, input.EnsRegionIds),
      category: input.Category,
      name: input.DiskName,
      snapshotId: input.SnapshotId,
      status: input.Status,
      type: input.Type === undefined ? undefined : input.Type === 'system' ? '1' : '2',
      chargeType: input.DiskChargeType,
      instanceId: input.InstanceId,
      orderBy: Object.entries(input.OrderByParams ?? {}).map(([key, direction]) => {
        if (!Object.hasOwn(SORT_KEYS, key) || (direction !== 'asc' && direction !== 'desc')) {
          throw invalidParameter('OrderByParams');
        }
        return { column: SORT_KEYS[key as keyof typeof SORT_KEYS], direction };
      }),
    };
    const page = { pageNumber: input.PageNumber ?? 1, pageSize: input.PageSize ?? 10 };
    const result = await ctx.disks.describe(ctx.caller, filter, page);
    return {
      Code: 0,
      PageNumber: page.pageNumber,
      PageSize: page.pageSize,
      TotalCount: result.totalCount,
      Disks: { Disks: result.items.map(renderDisk) },
    };
  },
});

/** A single id and a list of ids given together: both must match. */
export function intersect(one: string | undefined, many: string[] | undefined): string[] | undefined {
  if (one === undefined) return many;
  if (many === undefined) return [one];
  return many.includes(one) ? [one] : [];
}

function renderDisk(d: Disk): Record<string, unknown> {
  return {
    DiskId: d.id,
    DiskName: d.name,
    Category: d.category,
    Size: d.sizeMib,
    Status: d.status,
    Type: d.type,
    EnsRegionId: d.regionId,
    InstanceId: '',
    InstanceName: '',
    CreationTime: isoTime(d.createdMs),
    DiskChargeType: d.chargeType,
    DeleteWithInstance: false,
    Portable: true,
    Encrypted: d.encrypted,
    EncryptedKeyId: d.kmsKeyId,
    SnapshotId: d.snapshotId,
    SerialId: d.id.slice(2),
    Description: d.description,
    Tags: { Tags: d.tags.map((t) => ({ Key: t.key, Value: t.value })) },
  };
}
