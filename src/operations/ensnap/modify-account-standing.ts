import { boolean, defineOperation, integer, required } from '../spec.js';
import { accountId, amount } from './account-params.js';
import { ENSNAP_VERSION } from './version.js';

const QUOTA_MAX = 1_000_000_000;

export default defineOperation({
  version: ENSNAP_VERSION,
  action: 'ModifyAccountStanding',
  ramAction: 'ensnap:ModifyAccountStanding',
  accessLevel: 'update',
  params: {
    AccountId: required(accountId()),
    Balance: amount(),
    OverdueAmount: amount(),
    Frozen: boolean(),
    RealNameVerified: boolean(),
    // 0: no limit. An account's quota, once set, replaces the service's default.
    SnapshotsPerDiskQuota: integer(0, QUOTA_MAX),
    SnapshotsPerAccountQuota: integer(0, QUOTA_MAX),
    SnapshotCapacityQuotaGiB: integer(0, QUOTA_MAX),
  },
  coverage: { status: 'complete' },
  async handle(ctx, input) {
    const s = await ctx.billing.setStanding(ctx.caller, input.AccountId, {
      balance: input.Balance,
      overdue: input.OverdueAmount,
      frozen: input.Frozen,
      realNameVerified: input.RealNameVerified,
      snapshotsPerDisk: input.SnapshotsPerDiskQuota,
      snapshotsPerAccount: input.SnapshotsPerAccountQuota,
      snapshotCapacityGib: input.SnapshotCapacityQuotaGiB,
    });
    return {
      AccountId: input.AccountId,
      Balance: s.balance,
      OverdueAmount: s.overdue,
      Frozen: s.frozen,
      RealNameVerified: s.realNameVerified,
      // null: the service's default applies.
      SnapshotsPerDiskQuota: s.quotas.snapshotsPerDisk,
      SnapshotsPerAccountQuota: s.quotas.snapshotsPerAccount,
      SnapshotCapacityQuotaGiB: s.quotas.snapshotCapacityGib,
    };
  },
});
