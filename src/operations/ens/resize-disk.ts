import { DISK_SIZE_GIB } from './rules.js';
import { defineOperation, integer, required, resourceNamedBy, string } from '../spec.js';

export default defineOperation({
  version: '2017-11-10',
  action: 'ResizeDisk',
  ramAction: 'ens:ResizeDisk',
  accessLevel: 'update',
  resource: resourceNamedBy('disk', 'DiskId'),
  params: {
    DiskId: required(string()),
    NewSize: required(integer(DISK_SIZE_GIB.min, DISK_SIZE_GIB.max)),
  },
  coverage: { status: 'complete' },
  async handle(ctx, input) {
    const { orderId } = await ctx.disks.resize(ctx.caller, input.DiskId, input.NewSize);
    return { OrderId: orderId };
  },
});
