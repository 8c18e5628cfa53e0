import { isValidDescription, isValidNewSnapshotName } from './rules.js';
import { defineOperation, required, resourceNamedBy, string } from '../spec.js';

export default defineOperation({
  version: '2017-11-10',
  action: 'ModifySnapshotAttribute',
  ramAction: 'ens:ModifySnapshotAttribute',
  accessLevel: 'update',
  resource: resourceNamedBy('snapshot', 'SnapshotId'),
  params: {
    SnapshotId: required(string()),
    SnapshotName: string(isValidNewSnapshotName),
    Description: string(isValidDescription),
  },
  coverage: { status: 'complete' },
  async handle(ctx, input) {
    await ctx.snapshots.modify(ctx.caller, input.SnapshotId, {
      name: input.SnapshotName,
      description: input.Description,
    });
    return {};
  },
});
