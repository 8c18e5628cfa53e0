import { isoTime } from '../ens/render-time.js';
import { defineOperation, required } from '../spec.js';
import { accountId } from './account-params.js';
import { ENSNAP_VERSION } from './version.js';

export default defineOperation({
  version: ENSNAP_VERSION,
  action: 'DescribeAccountAccessKeys',
  ramAction: 'ensnap:DescribeAccountAccessKeys',
  accessLevel: 'list',
  params: { AccountId: required(accountId()) },
  coverage: { status: 'complete' },
  async handle(ctx, input) {
    const keys = await ctx.accounts.accessKeys(ctx.caller, input.AccountId);
    return {
      AccountId: input.AccountId,
      AccessKeys: keys.map((k) => ({
        AccessKeyId: k.accessKeyId,
        Status: k.status,
        CreateTime: isoTime(k.createdMs),
      })),
    };
  },
});
