import { DISK_SIZE_GIB, isValidDiskName, isValidTagKey, isValidTagValue } from './rules.js';
import {
  boolean,
  defineOperation,
  ignored,
  integer,
  keyValueList,
  oneOf,
  required,
  string,
} from '../spec.js';

export default defineOperation({
  version: '2017-11-10',
  action: 'CreateDisk',
  ramAction: 'ens:CreateDisk',
  accessLevel: 'create',
  params: {
    EnsRegionId: required(string()),
    Category: required(oneOf(['cloud_efficiency', 'cloud_ssd'])),
    InstanceChargeType: required(oneOf(['PostPaid'])),
    Size: integer(DISK_SIZE_GIB.min, DISK_SIZE_GIB.max),
    SnapshotId: string(),
    DiskName: string(isValidDiskName),
    Encrypted: boolean(),
    KMSKeyId: string((v) => v.length <= 128),
    Tag: keyValueList(20, isValidTagKey, isValidTagValue),
    InstanceBillingCycle: ignored(),
  },
  coverage: { status: 'complete' },
  async handle(ctx, input) {
    const { diskId } = await ctx.disks.create(ctx.caller, {
      regionId: input.EnsRegionId,
      category: input.Category,
      sizeGib: input.Size,
      snapshotId: input.SnapshotId,
      name: input.DiskName,
      encrypted: input.Encrypted,
      kmsKeyId: input.KMSKeyId,
      tags: input.Tag ?? [],
    });
    // Pay-as-you-go disks get no OrderId (reference, CreateDisk).
    return { InstanceIds: [diskId] };
  },
});
