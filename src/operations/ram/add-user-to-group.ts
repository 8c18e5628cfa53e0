import { defineOperation, required } from '../spec.js';
import { groupName, userName } from './rules.js';

export default defineOperation({
  version: '2015-05-01',
  action: 'AddUserToGroup',
  ramAction: 'ram:AddUserToGroup',
  accessLevel: 'update',
  params: { UserName: required(userName()), GroupName: required(groupName()) },
  coverage: { status: 'complete' },
  async handle(ctx, input) {
    await ctx.iam.addUserToGroup(ctx.caller, input.GroupName, input.UserName);
    return {};
  },
});
