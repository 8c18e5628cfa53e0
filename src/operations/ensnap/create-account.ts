import { isoTime } from '../ens/render-time.js';
import { defineOperation } from '../spec.js';
import { accountName } from './account-params.js';
import { ENSNAP_VERSION } from './version.js';

export default defineOperation({
  version: ENSNAP_VERSION,
  action: 'CreateAccount',
  ramAction: 'ensnap:CreateAccount',
  accessLevel: 'create',
  params: { AccountName: accountName() },
  coverage: { status: 'complete' },
  async handle(ctx, input) {
    const { account, key } = await ctx.accounts.create(ctx.caller, input.AccountName);
    return {
      AccountId: account.id,
      AccountName: account.name,
      CreateTime: isoTime(account.createdMs),
      // The secret is answered here only: the service never shows it again.
      AccessKeyId: key.accessKeyId,
      AccessKeySecret: key.accessKeySecret,
    };
  },
});
