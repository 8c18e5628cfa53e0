import { isValidDescription, isValidSnapshotName } from './rules.js';
import { defineOperation, idList, ignored, required, resourceNamedBy, string } from '../spec.js';

export default defineOperation({
  version: '2017-11-10',
  action: 'CopySnapshot',
  ramAction: 'ens:CopySnapshot',
  accessLevel: 'create',
  resource: resourceNamedBy('snapshot', 'SnapshotId'),
  params: {
    SnapshotId: required(string()),
    DestinationRegionIds: required(idList(100, false)),
    DestinationSnapshotName: string(isValidSnapshotName),
    DestinationSnapshotDescription: string(isValidDescription),
    InstanceBillingCycle: ignored(),
  },
  coverage: { status: 'complete' },
  async handle(ctx, input) {
    const copies = await ctx.snapshots.copy(ctx.caller, {
      snapshotId: input.SnapshotId,
      regionIds: input.DestinationRegionIds,
      name: input.DestinationSnapshotName,
      description: input.DestinationSnapshotDescription,
    });
    // Every node of one deployment shares the chunk store, so a copy either is made everywhere
    // asked or the request fails as a whole: never PartSuccess.
    return {
      BizStatusCode: 'AllSuccess',
      AllocationId: copies.map((c) => ({ EnsRegionId: c.regionId, InstanceId: [c.snapshotId] })),
      UnAllocationId: [],
    };
  },
});
