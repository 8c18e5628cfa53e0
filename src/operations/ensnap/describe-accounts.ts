import { isoTime } from '../ens/render-time.js';
import { defineOperation, integer, pageNumber } from '../spec.js';
import { accountId } from './account-params.js';
import { ENSNAP_VERSION } from './version.js';

export default defineOperation({
  version: ENSNAP_VERSION,
  action: 'DescribeAccounts',
  ramAction: 'ensnap:DescribeAccounts',
  accessLevel: 'list',
  params: { AccountId: accountId(), PageNumber: pageNumber(), PageSize: integer(1, 100) },
  coverage: { status: 'complete' },
  async handle(ctx, input) {
    const page = { pageNumber: input.PageNumber ?? 1, pageSize: input.PageSize ?? 10 };
    const result = await ctx.accounts.describe(ctx.caller, { accountId: input.AccountId }, page);
    return {
      PageNumber: page.pageNumber,
      PageSize: page.pageSize,
      TotalCount: result.totalCount,
      Accounts: result.items.map((a) => ({
        AccountId: a.id,
        AccountName: a.name,
        CreateTime: isoTime(a.createdMs),
        AccessKeyCount: a.accessKeyCount,
        DiskCount: a.diskCount,
        SnapshotCount: a.snapshotCount,
      })),
    };
  },
});
