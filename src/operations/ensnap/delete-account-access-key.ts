import { defineOperation, required, string } from '../spec.js';
import { accountId } from './account-params.js';
import { ENSNAP_VERSION } from './version.js';

export default defineOperation({
  version: ENSNAP_VERSION,
  action: 'DeleteAccountAccessKey',
  ramAction: 'ensnap:DeleteAccountAccessKey',
  accessLevel: 'delete',
  // Not `AccessKeyId`: v1 requests use that name for the caller's own key (RAM says UserAccessKeyId).
  params: { AccountId: required(accountId()), AccountAccessKeyId: required(string()) },
  coverage: { status: 'complete' },
  async handle(ctx, input) {
    await ctx.accounts.deleteAccessKey(ctx.caller, input.AccountId, input.AccountAccessKeyId);
    return {};
  },
});
