import { defineOperation, required } from '../spec.js';
import { accountId } from './account-params.js';
import { ENSNAP_VERSION } from './version.js';

export default defineOperation({
  version: ENSNAP_VERSION,
  action: 'DeleteAccount',
  ramAction: 'ensnap:DeleteAccount',
  accessLevel: 'delete',
  params: { AccountId: required(accountId()) },
  coverage: { status: 'complete' },
  async handle(ctx, input) {
    await ctx.accounts.delete(ctx.caller, input.AccountId);
    return {};
  },
});
