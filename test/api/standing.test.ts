// Orders, account standing and quotas over the wire, through the official SDKs: each standing
// condition the operator sets answers the seed's code, status and message and writes nothing (no
// snapshot, no order); orders carry their amount and take it from the balance; quotas hold exactly
// under concurrent CreateSnapshot; CreateSnapshot racing DeleteDisk never answers a 5xx. Then the
// catalog walk: every code has a status and a message, and every code a real condition produces is
// reached by a test (the codes only a fault rule produces are listed as such).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { ERROR_CATALOG, FAULT_RULE_ONLY, type ErrorKey } from '../../src/errors/catalog.js';
import { startEnsnap, type Running } from '../helpers/ensnap.js';
import {
  assertSdkError,
  createDisk,
  createSnapshot,
  ORDER_ID,
  OTHER_REGION,
  REGION,
  snapshotCount,
  waitSnapshotStatus,
} from '../helpers/fixtures.js';
import {
  ensnapCall,
  openApi,
  plain,
  popCore,
  sdkError,
  type Client,
  type Endpoint,
  type Params,
} from '../helpers/sdk.js';

/** Price per GiB-month of the server under test: a 20 GiB disk's snapshot costs 10.00. */
const PRICE = '0.5';
const SNAPSHOT_AMOUNT = 10;

interface Tenant {
  accountId: string;
  pop: Client;
  v3: Client;
}

describe('orders, account standing and quotas', () => {
  let server: Running;
  let operator: Client;

  before(async () => {
    server = await startEnsnap({ ENSNAP_SNAPSHOT_PRICE_PER_GIB_MONTH: PRICE });
    operator = plain(popCore(server));
  });
  after(() => server.stop());

  async function newTenant(standing: Params = {}): Promise<Tenant> {
    const r = await ensnapCall(operator, 'CreateAccount');
    const e: Endpoint = {
      endpoint: server.endpoint,
      hostPort: server.hostPort,
      accessKeyId: r.AccessKeyId as string,
      accessKeySecret: r.AccessKeySecret as string,
    };
    const accountId = r.AccountId as string;
    await setStanding(accountId, { Balance: '1000', ...standing });
    return { accountId, pop: plain(popCore(e)), v3: plain(openApi(e)) };
  }

  const setStanding = (accountId: string, params: Params) =>
    ensnapCall(operator, 'ModifyAccountStanding', { AccountId: accountId, ...params });

  async function ordersOf(accountId: string): Promise<Record<string, unknown>[]> {
    const r = await ensnapCall(operator, 'DescribeOrders', { AccountId: accountId, PageSize: 100 });
    assert.equal((r.Orders as unknown[]).length, r.TotalCount);
    return r.Orders as Record<string, unknown>[];
  }

  /** The SDK's error for `call`, held to the catalog's status and message for `code`. */
  async function expectCode(call: () => Promise<unknown>, code: ErrorKey, where: string): Promise<void> {
    const error = await sdkError(call);
    assertSdkError(error, code, ERROR_CATALOG[code].status, where);
    // The catalog's message, its %s filled in.
    const parts = ERROR_CATALOG[code].message
      .split('%s')
      .map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));
    assert.match(String(error.data.Message), new RegExp(`^${parts.join('.+')}$`), where);
  }

  it('each standing condition answers its code with the seed status and message, and writes nothing', async () => {
    const t = await newTenant();
    const diskId = await createDisk(t.pop);
    const conditions: [Params, ErrorKey][] = [
      [{ Frozen: true }, 'AccountAliyunAccountFrozen'],
      [{ RealNameVerified: false }, 'OrderNoRealNameAuthentication'],
      [{ OverdueAmount: '0.01' }, 'OrderArrearage'],
      [{ Balance: '9.99' }, 'PayInsufficientBalance'],
      // The order of the checks: frozen before anything else, overdue before the balance.
      [{ Frozen: true, OverdueAmount: '5', Balance: '0' }, 'AccountAliyunAccountFrozen'],
      [{ RealNameVerified: false, OverdueAmount: '5' }, 'OrderNoRealNameAuthentication'],
      [{ OverdueAmount: '5', Balance: '0' }, 'OrderArrearage'],
    ];
    const goodStanding = { Frozen: false, RealNameVerified: true, OverdueAmount: '0', Balance: '1000' };
    for (const [standing, code] of conditions) {
      await setStanding(t.accountId, { ...goodStanding, ...standing });
      for (const sdk of [t.pop, t.v3]) {
        const where = `${JSON.stringify(standing)} ${sdk.name}`;
        await expectCode(() => createSnapshot(sdk, diskId), code, where);
      }
    }
    assert.equal(await snapshotCount(t.pop), 0);
    assert.deepEqual(await ordersOf(t.accountId), []);

    // CreateDisk (no order: pay-as-you-go) is refused by the same standing, balance aside.
    for (const [standing, code] of conditions.filter(([, c]) => c !== 'PayInsufficientBalance')) {
      await setStanding(t.accountId, { ...goodStanding, ...standing });
      await expectCode(() => createDisk(t.v3), code, `CreateDisk ${JSON.stringify(standing)}`);
    }
    const disks = await t.pop.call('DescribeDisks', {});
    assert.equal(disks.TotalCount, 1);
  });

  it('an order carries its amount, which the balance pays; DescribeOrders lists it', async () => {
    const t = await newTenant({ Balance: '25' });
    const diskId = await createDisk(t.pop);
    const first = await t.pop.call('CreateSnapshot', { DiskId: diskId, EnsRegionId: 'cn-beijing-15' });
    const second = await t.v3.call('CreateSnapshot', { DiskId: diskId, EnsRegionId: 'cn-beijing-15' });
    await expectCode(() => createSnapshot(t.pop, diskId), 'PayInsufficientBalance', 'balance 5');
    const standing = await setStanding(t.accountId, {});
    assert.equal(standing.Balance, 25 - 2 * SNAPSHOT_AMOUNT);

    const orders = await ordersOf(t.accountId);
    assert.deepEqual(orders.map((o) => o.OrderId).sort(), [first.OrderId, second.OrderId].sort());
    for (const order of orders) {
      assert.match(String(order.OrderId), ORDER_ID);
      assert.equal(order.AccountId, t.accountId);
      assert.equal(order.Product, 'snapshot');
      assert.equal(order.Action, 'CreateSnapshot');
      assert.equal(order.Amount, SNAPSHOT_AMOUNT);
      assert.equal(order.State, 'paid');
    }
    const shown = await ensnapCall(operator, 'DescribeOrders', { OrderId: first.OrderId as string });
    assert.equal(shown.TotalCount, 1);
    // Only the operator reads orders.
    await expectCode(() => ensnapCall(t.pop, 'DescribeOrders'), 'NoPermission', 'tenant');
  });

  it('quotas hold exactly under concurrent CreateSnapshot', async () => {
    const t = await newTenant({ SnapshotsPerDiskQuota: 5 });
    const diskId = await createDisk(t.pop);
    const tally = async (calls: Promise<unknown>[]) => {
      const results = await Promise.allSettled(calls);
      for (const r of results.filter((r) => r.status === 'rejected')) {
        const e = await sdkError(() => Promise.reject((r as PromiseRejectedResult).reason));
        assertSdkError(e, 'OrderQuotaExceeded', 400);
      }
      return results.filter((r) => r.status === 'fulfilled').length;
    };
    const burst = (sdk: Client, disk: string, n: number) =>
      Array.from({ length: n }, () => createSnapshot(sdk, disk));

    assert.equal(await tally([...burst(t.pop, diskId, 10), ...burst(t.v3, diskId, 10)]), 5);
    assert.equal(await snapshotCount(t.pop), 5);

    // Per account: 8, across two disks, 5 taken already.
    await setStanding(t.accountId, { SnapshotsPerDiskQuota: 0, SnapshotsPerAccountQuota: 8 });
    const otherDisk = await createDisk(t.pop);
    assert.equal(await tally([...burst(t.pop, diskId, 6), ...burst(t.v3, otherDisk, 6)]), 3);
    assert.equal(await snapshotCount(t.pop), 8);
    assert.equal((await ordersOf(t.accountId)).length, 8);

    // Capacity: 100 GiB of 20 GiB snapshots for a fresh account is 5.
    const c = await newTenant({ SnapshotCapacityQuotaGiB: 100 });
    const cDisk = await createDisk(c.pop);
    assert.equal(await tally(burst(c.v3, cDisk, 12)), 5);
    assert.equal(await snapshotCount(c.pop), 5);
  });

  it('CopySnapshot: its copies count against the quotas and need a good standing, written all or none', async () => {
    const t = await newTenant({ SnapshotsPerAccountQuota: 3 });
    const diskId = await createDisk(t.pop);
    const source = await createSnapshot(t.pop, diskId);
    await waitSnapshotStatus(t.pop, source, 'available');
    const copy = (regions: string[]) =>
      t.v3.call('CopySnapshot', { SnapshotId: source, DestinationRegionIds: JSON.stringify(regions) });
    // Three snapshots at most: the source and two copies; three more copies at once are refused whole.
    await expectCode(() => copy([REGION, OTHER_REGION, 'cn-hangzhou-27']), 'OrderQuotaExceeded', 'quota');
    assert.equal(await snapshotCount(t.pop), 1);
    await copy([REGION, OTHER_REGION]);
    assert.equal(await snapshotCount(t.pop), 3);
    await setStanding(t.accountId, { SnapshotsPerAccountQuota: 0, Frozen: true });
    await expectCode(() => copy([REGION]), 'AccountAliyunAccountFrozen', 'frozen');
    assert.equal(await snapshotCount(t.pop), 3);
    const copies = (await ordersOf(t.accountId)).filter((o) => o.Action === 'CopySnapshot');
    assert.deepEqual(
      copies.map((o) => o.Amount),
      [0, 0],
    );
  });

  it('CreateSnapshot racing DeleteDisk answers 200 or IncorrectStatus.Disk, never a 5xx', async () => {
    const t = await newTenant();
    const diskId = await createDisk(t.pop);
    // Two snapshots of one disk at once are both taken: the reference does not refuse them.
    await Promise.all([createSnapshot(t.pop, diskId), createSnapshot(t.v3, diskId)]);
    const results = await Promise.allSettled([
      ...Array.from({ length: 8 }, () => createSnapshot(t.pop, diskId)),
      t.v3.call('DeleteDisk', { DiskId: diskId }),
      ...Array.from({ length: 8 }, () => createSnapshot(t.v3, diskId)),
    ]);
    for (const r of results) {
      if (r.status === 'fulfilled') continue;
      const e = await sdkError(() => Promise.reject(r.reason));
      assertSdkError(e, 'IncorrectStatus.Disk', 400);
    }
    // Afterwards the disk is being deleted: every further CreateSnapshot is refused the same way.
    await expectCode(() => createSnapshot(t.pop, diskId), 'IncorrectStatus.Disk', 'after DeleteDisk');
  });
});

/**
 * The test that reaches each code a real condition produces: the compiled test file, which names
 * the code (for a templated code, one instance of it).
 */
const REACHED_BY: Record<string, [file: string, code: string]> = {
  FaultInjectionDisabled: ['api/faults.test.js', 'FaultInjectionDisabled'],
  MissingParameter: ['api/protocol-errors.test.js', 'MissingParameter'],
  'InvalidParameter.%s': ['api/restore-operations.test.js', 'InvalidParameter.'],
  SignatureDoesNotMatch: ['api/protocol-errors.test.js', 'SignatureDoesNotMatch'],
  IncompleteSignature: ['api/protocol-errors.test.js', 'IncompleteSignature'],
  InvalidSignatureMethod: ['api/bad-input.test.js', 'InvalidSignatureMethod'],
  'InvalidAccessKeyId.NotFound': ['api/protocol-errors.test.js', 'InvalidAccessKeyId.NotFound'],
  'InvalidAccessKeyId.Inactive': ['api/ram.test.js', 'InvalidAccessKeyId.Inactive'],
  SignatureNonceUsed: ['api/protocol-errors.test.js', 'SignatureNonceUsed'],
  'InvalidTimeStamp.Expired': ['api/protocol-errors.test.js', 'InvalidTimeStamp.Expired'],
  'InvalidTimeStamp.Format': ['api/protocol-errors.test.js', 'InvalidTimeStamp.Format'],
  'InvalidSecurityToken.Malformed': ['api/bad-input.test.js', 'InvalidSecurityToken.Malformed'],
  InvalidVersion: ['api/protocol-errors.test.js', 'InvalidVersion'],
  'InvalidAction.NotFound': ['api/protocol-errors.test.js', 'InvalidAction.NotFound'],
  UnsupportedHTTPMethod: ['api/protocol-errors.test.js', 'UnsupportedHTTPMethod'],
  'InvalidParameter.Body': ['api/bad-input.test.js', 'InvalidParameter.Body'],
  'InvalidParameter.Encoding': ['api/bad-input.test.js', 'InvalidParameter.Encoding'],
  NoPermission: ['api/authorization.test.js', 'NoPermission'],
  DiskIdNotFound: ['api/protocol-errors.test.js', 'DiskIdNotFound'],
  SnapshotIdNotFound: ['api/restore-operations.test.js', 'SnapshotIdNotFound'],
  INSTANCE_ID_NOT_FOUND: ['api/operations.test.js', 'INSTANCE_ID_NOT_FOUND'],
  'IncorrectStatus.Disk': ['api/standing.test.js', 'IncorrectStatus.Disk'],
  IncorrectInstanceStatus: ['api/operations.test.js', 'IncorrectInstanceStatus'],
  'InvalidParameter.%s.Length': ['api/ram.test.js', 'InvalidParameter.GroupName.Length'],
  'InvalidParameter.%s.InvalidChars': ['api/ram.test.js', 'InvalidParameter.GroupName.InvalidChars'],
  'InvalidParameter.%s.Format': ['api/ram.test.js', 'InvalidParameter.Email.Format'],
  MalformedPolicyDocument: ['api/ram.test.js', 'MalformedPolicyDocument'],
  'EntityNotExist.User': ['api/ram.test.js', 'EntityNotExist.User'],
  'EntityNotExist.Group': ['api/ram.test.js', 'EntityNotExist.Group'],
  'EntityNotExist.Policy': ['api/ram.test.js', 'EntityNotExist.Policy'],
  'EntityNotExist.Policy.Version': ['api/ram.test.js', 'EntityNotExist.Policy.Version'],
  'EntityNotExist.User.AccessKey': ['api/ram.test.js', 'EntityNotExist.User.AccessKey'],
  'EntityNotExist.User.Policy': ['api/ram.test.js', 'EntityNotExist.User.Policy'],
  'EntityNotExist.Group.Policy': ['api/ram.test.js', 'EntityNotExist.Group.Policy'],
  'EntityNotExist.User.Group': ['api/ram.test.js', 'EntityNotExist.User.Group'],
  'EntityAlreadyExists.User': ['api/ram.test.js', 'EntityAlreadyExists.User'],
  'EntityAlreadyExists.Group': ['api/ram.test.js', 'EntityAlreadyExists.Group'],
  'EntityAlreadyExists.Policy': ['api/ram.test.js', 'EntityAlreadyExists.Policy'],
  'EntityAlreadyExists.User.Policy': ['api/ram.test.js', 'EntityAlreadyExists.User.Policy'],
  'EntityAlreadyExists.Group.Policy': ['api/ram.test.js', 'EntityAlreadyExists.Group.Policy'],
  'EntityAlreadyExists.User.Group': ['api/ram.test.js', 'EntityAlreadyExists.User.Group'],
  'DeleteConflict.User.AccessKey': ['api/ram.test.js', 'DeleteConflict.User.AccessKey'],
  'DeleteConflict.User.Policy': ['api/ram.test.js', 'DeleteConflict.User.Policy'],
  'DeleteConflict.User.Group': ['api/ram.test.js', 'DeleteConflict.User.Group'],
  'DeleteConflict.Group.User': ['api/ram.test.js', 'DeleteConflict.Group.User'],
  'DeleteConflict.Group.Policy': ['api/ram.test.js', 'DeleteConflict.Group.Policy'],
  'DeleteConflict.Policy.User': ['api/ram.test.js', 'DeleteConflict.Policy.User'],
  'DeleteConflict.Policy.Group': ['api/ram.test.js', 'DeleteConflict.Policy.Group'],
  'LimitExceeded.User.AccessKey': ['api/ram.test.js', 'LimitExceeded.User.AccessKey'],
  'LimitExceeded.User.Group': ['api/ram.test.js', 'LimitExceeded.User.Group'],
  'LimitExceeded.User.Policy': ['api/ram.test.js', 'LimitExceeded.User.Policy'],
  'LimitExceeded.Group.Policy': ['api/ram.test.js', 'LimitExceeded.Group.Policy'],
  'LimitExceeded.Policy.Version': ['api/ram.test.js', 'LimitExceeded.Policy.Version'],
  ContentSha256Mismatch: ['api/data-plane.test.js', 'ContentSha256Mismatch'],
  'EntityNotExist.Account': ['api/accounts.test.js', 'EntityNotExist.Account'],
  'EntityNotExist.Account.AccessKey': ['api/accounts.test.js', 'EntityNotExist.Account.AccessKey'],
  'DeleteConflict.Account.Resource': ['api/accounts.test.js', 'DeleteConflict.Account.Resource'],
  'LimitExceeded.Account.AccessKey': ['api/accounts.test.js', 'LimitExceeded.Account.AccessKey'],
  'Forbidden.OperatorAccount': ['api/accounts.test.js', 'Forbidden.OperatorAccount'],
  StoredDataDamaged: ['api/engine-faults.test.js', 'StoredDataDamaged'],
  StorageFull: ['api/engine-faults.test.js', 'StorageFull'],
  AccountAliyunAccountFrozen: ['api/standing.test.js', 'AccountAliyunAccountFrozen'],
  OrderNoRealNameAuthentication: ['api/standing.test.js', 'OrderNoRealNameAuthentication'],
  OrderArrearage: ['api/standing.test.js', 'OrderArrearage'],
  PayInsufficientBalance: ['api/standing.test.js', 'PayInsufficientBalance'],
  OrderQuotaExceeded: ['api/standing.test.js', 'OrderQuotaExceeded'],
};

/** Real conditions no test can set up: a bug in ensnap. */
const UNREACHABLE_BY_DESIGN = new Set<string>(['InternalError']);

describe('the error catalog', () => {
  const testDir = path.join(path.dirname(fileURLToPath(import.meta.url)), '..');

  it('every code has an HTTP status and a message; the seed codes answer 400', () => {
    for (const [code, entry] of Object.entries(ERROR_CATALOG)) {
      assert.ok(entry.status >= 400 && entry.status < 600, code);
      assert.ok(entry.message.length > 0, code);
      assert.ok(entry.condition.length > 0, code);
      if (entry.source === 'seed') assert.equal(entry.status, 400, code);
    }
  });

  it('every code a real condition produces is reached by a test; the rest are fault rules only', () => {
    const real = Object.entries(ERROR_CATALOG).filter(([, e]) => e.condition !== FAULT_RULE_ONLY);
    for (const [code] of real) {
      if (UNREACHABLE_BY_DESIGN.has(code)) continue;
      const reached = REACHED_BY[code];
      assert.ok(reached, `${code}: no test listed as producing it`);
      const [file, instance] = reached;
      const source = readFileSync(path.join(testDir, file), 'utf8');
      assert.ok(source.includes(`'${instance}`), `${code}: ${file} does not produce ${instance}`);
    }
    assert.deepEqual(
      Object.keys(REACHED_BY).filter(
        (code) => ERROR_CATALOG[code as ErrorKey]?.condition === FAULT_RULE_ONLY,
      ),
      [],
      'a code listed as reached by a test is marked fault rule only',
    );
    // The codes left to fault injection (issue 5, item 6): every other seed code.
    const faultOnly = Object.entries(ERROR_CATALOG).filter(([, e]) => e.condition === FAULT_RULE_ONLY);
    assert.ok(faultOnly.every(([, e]) => e.source === 'seed'));
    assert.ok(faultOnly.some(([code]) => code === 'SystemConcurrentOperate'));
  });
});
