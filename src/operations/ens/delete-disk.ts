import { defineOperation, required, resourceNamedBy, string } from '../spec.js';

export default defineOperation({
  version: '2017-11-10',
  action: 'DeleteDisk',
  ramAction: 'ens:DeleteDisk',
  accessLevel: 'delete',
  resource: resourceNamedBy('disk', 'DiskId'),
  params: { DiskId: required(string()) },
  coverage: { status: 'complete' },
  async handle(ctx, input) {
    await ctx.disks.delete(ctx.caller, input.DiskId);
    return { Code: 0 };
  },
});
