import { isoTime } from '../ens/render-time.js';
import { defineOperation, required } from '../spec.js';
import { accountId } from './account-params.js';
import { ENSNAP_VERSION } from './version.js';

export default defineOperation({
  version: ENSNAP_VERSION,
  action: 'CreateAccountAccessKey',
  ramAction: 'ensnap:CreateAccountAccessKey',
  accessLevel: 'create',
  params: { AccountId: required(accountId()) },
  coverage: { status: 'complete' },
  async handle(ctx, input) {
    const { key, created } = await ctx.accounts.createAccessKey(ctx.caller, input.AccountId);
    return {
      AccountId: input.AccountId,
      AccessKeyId: key.accessKeyId,
      // The secret is answered here only: the service never shows it again.
      AccessKeySecret: key.accessKeySecret,
      Status: created.status,
      CreateTime: isoTime(created.createdMs),
    };
  },
});
