import { defineOperation, required, resourceNamedBy, string } from '../spec.js';

export default defineOperation({
  version: '2017-11-10',
  action: 'DeleteSnapshot',
  ramAction: 'ens:DeleteSnapshot',
  accessLevel: 'delete',
  resource: resourceNamedBy('snapshot', 'SnapshotId'),
  params: { SnapshotId: required(string()) },
  coverage: { status: 'complete' },
  async handle(ctx, input) {
    await ctx.snapshots.delete(ctx.caller, input.SnapshotId);
    return {};
  },
});
