import { defineOperation, required } from '../spec.js';
import { groupName } from './rules.js';

export default defineOperation({
  version: '2015-05-01',
  action: 'DeleteGroup',
  ramAction: 'ram:DeleteGroup',
  accessLevel: 'delete',
  params: { GroupName: required(groupName()) },
  coverage: { status: 'complete' },
  async handle(ctx, input) {
    await ctx.iam.deleteGroup(ctx.caller, input.GroupName);
    return {};
  },
});
