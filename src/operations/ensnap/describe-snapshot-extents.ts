import { defineOperation, integer, required, resourceNamedBy, string } from '../spec.js';
import { renderExtents } from './extents.js';
import { ENSNAP_VERSION, OFFSET_MAX } from './version.js';

export default defineOperation({
  version: ENSNAP_VERSION,
  action: 'DescribeSnapshotExtents',
  ramAction: 'ensnap:DescribeSnapshotExtents',
  accessLevel: 'read',
  resource: resourceNamedBy('snapshot', 'SnapshotId'),
  params: { SnapshotId: required(string()), Offset: integer(0, OFFSET_MAX) },
  coverage: { status: 'complete' },
  async handle(ctx, input) {
    const page = await ctx.diskData.snapshotExtents(ctx.caller, input.SnapshotId, input.Offset ?? 0);
    return { SnapshotId: input.SnapshotId, ...renderExtents(page) };
  },
});
