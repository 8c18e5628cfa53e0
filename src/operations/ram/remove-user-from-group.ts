import { defineOperation, required } from '../spec.js';
import { groupName, userName } from './rules.js';

export default defineOperation({
  version: '2015-05-01',
  action: 'RemoveUserFromGroup',
  ramAction: 'ram:RemoveUserFromGroup',
  accessLevel: 'update',
  params: { UserName: required(userName()), GroupName: required(groupName()) },
  coverage: { status: 'complete' },
  async handle(ctx, input) {
    await ctx.iam.removeUserFromGroup(ctx.caller, input.GroupName, input.UserName);
    return {};
  },
});
