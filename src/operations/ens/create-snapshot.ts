import { isValidDescription, isValidSnapshotName } from './rules.js';
import { defineOperation, ignored, required, resourceNamedBy, string } from '../spec.js';

export default defineOperation({
  version: '2017-11-10',
  action: 'CreateSnapshot',
  ramAction: 'ens:CreateSnapshot',
  accessLevel: 'create',
  resource: resourceNamedBy('disk', 'DiskId'),
  params: {
    DiskId: required(string()),
    EnsRegionId: required(string()),
    SnapshotName: string(isValidSnapshotName),
    Description: string(isValidDescription),
    InstanceBillingCycle: ignored(),
  },
  coverage: { status: 'complete' },
  async handle(ctx, input) {
    const { snapshotId, orderId } = await ctx.snapshots.create(ctx.caller, {
      diskId: input.DiskId,
      regionId: input.EnsRegionId,
      name: input.SnapshotName,
      description: input.Description,
    });
    // `SnapShotId` (sic): a string in the seed's form, an array of one in the current SDKs' form.
    return { SnapShotId: ctx.profile === 'seed' ? snapshotId : [snapshotId], OrderId: orderId };
  },
});
