import { defineOperation, required, string } from '../spec.js';

export default defineOperation({
  version: '2017-11-10',
  action: 'ResetDisk',
  ramAction: 'ens:ResetDisk',
  accessLevel: 'update',
  params: { DiskId: required(string()), SnapshotId: required(string()) },
  coverage: {
    status: 'partial',
    missing: 'the rollback copies the snapshot back before answering (reads are not yet served lazily)',
  },
  async handle(ctx, input) {
    await ctx.disks.reset(ctx.caller, input.DiskId, input.SnapshotId);
    return {};
  },
});
