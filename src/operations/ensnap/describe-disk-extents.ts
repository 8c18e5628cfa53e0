import { defineOperation, integer, required, resourceNamedBy, string } from '../spec.js';
import { renderExtents } from './extents.js';
import { ENSNAP_VERSION, OFFSET_MAX } from './version.js';

export default defineOperation({
  version: ENSNAP_VERSION,
  action: 'DescribeDiskExtents',
  ramAction: 'ensnap:DescribeDiskExtents',
  accessLevel: 'read',
  resource: resourceNamedBy('disk', 'DiskId'),
  params: { DiskId: required(string()), Offset: integer(0, OFFSET_MAX) },
  coverage: { status: 'complete' },
  async handle(ctx, input) {
    const page = await ctx.diskData.diskExtents(ctx.caller, input.DiskId, input.Offset ?? 0);
    return { DiskId: input.DiskId, ...renderExtents(page) };
  },
});
