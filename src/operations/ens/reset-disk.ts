import { defineOperation, required, resourceNamedBy, string } from '../spec.js';

export default defineOperation({
  version: '2017-11-10',
  action: 'ResetDisk',
  ramAction: 'ens:ResetDisk',
  accessLevel: 'update',
  resource: resourceNamedBy('disk', 'DiskId'),
  params: { DiskId: required(string()), SnapshotId: required(string()) },
  coverage: { status: 'complete' },
  async handle(ctx, input) {
    await ctx.disks.reset(ctx.caller, input.DiskId, input.SnapshotId);
    return {};
  },
});
