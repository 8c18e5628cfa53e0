import { defineOperation, required } from '../spec.js';
import { userName } from './rules.js';

export default defineOperation({
  version: '2015-05-01',
  action: 'DeleteUser',
  ramAction: 'ram:DeleteUser',
  accessLevel: 'delete',
  params: { UserName: required(userName()) },
  coverage: { status: 'complete' },
  async handle(ctx, input) {
    await ctx.iam.deleteUser(ctx.caller, input.UserName);
    return {};
  },
});
