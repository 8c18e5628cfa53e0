import { defineOperation, required, string } from '../spec.js';
import { keyStatus, userName } from './rules.js';

export default defineOperation({
  version: '2015-05-01',
  action: 'UpdateAccessKey',
  ramAction: 'ram:UpdateAccessKey',
  accessLevel: 'update',
  params: { UserAccessKeyId: required(string()), Status: required(keyStatus()), UserName: userName() },
  coverage: { status: 'complete' },
  async handle(ctx, input) {
    await ctx.iam.updateAccessKey(ctx.caller, input.UserName, input.UserAccessKeyId, input.Status);
    return {};
  },
});
