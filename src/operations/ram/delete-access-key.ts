import { defineOperation, required, string } from '../spec.js';
import { userName } from './rules.js';

export default defineOperation({
  version: '2015-05-01',
  action: 'DeleteAccessKey',
  ramAction: 'ram:DeleteAccessKey',
  accessLevel: 'delete',
  params: { UserAccessKeyId: required(string()), UserName: userName() },
  coverage: { status: 'complete' },
  async handle(ctx, input) {
    await ctx.iam.deleteAccessKey(ctx.caller, input.UserName, input.UserAccessKeyId);
    return {};
  },
});
