// `ensnap account set` and `ensnap orders` as the operator runs them: child processes against a real
// server. The standing set on the command line refuses the account's CreateSnapshot with the seed's
// code; orders are listed (table and JSON, all or one account's) and shown one at a time.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ensnap, type Run } from '../helpers/cli.js';
import { cliEnv, type Running, startEnsnap } from '../helpers/ensnap.js';
import { createDisk, createSnapshot, pop } from '../helpers/fixtures.js';
import { sdkError } from '../helpers/sdk.js';

describe('ensnap account set, ensnap orders', () => {
  let server: Running;
  let env: Record<string, string>;
  const run = (...args: string[]): Promise<Run> => ensnap(args, env).done;

  before(async () => {
    server = await startEnsnap({ ENSNAP_SNAPSHOT_PRICE_PER_GIB_MONTH: '0.25' });
    env = cliEnv(server);
  });
  after(() => server.stop());

  it('set changes the standing that CreateSnapshot sees; orders lists and shows the orders', async () => {
    const created = JSON.parse((await run('account', 'create', '--json')).stdout) as Record<string, string>;
    const tenant = pop({
      ...server,
      accessKeyId: created.AccessKeyId as string,
      accessKeySecret: created.AccessKeySecret as string,
    });
    const accountId = created.AccountId as string;
    const diskId = await createDisk(tenant);

    const frozen = await run('account', 'set', accountId, '--frozen', 'true', '--balance', '20');
    assert.equal(frozen.code, 0, frozen.stderr);
    assert.match(frozen.stdout, /^Frozen\s+true$/m);
    assert.match(frozen.stdout, /^Balance\s+20$/m);
    assert.match(frozen.stdout, /^SnapshotsPerDiskQuota\s+default$/m);
    assert.equal((await sdkError(() => createSnapshot(tenant, diskId))).code, 'AccountAliyunAccountFrozen');

    const thawed = await run('account', 'set', accountId, '--frozen', 'false', '--json');
    assert.equal(thawed.code, 0, thawed.stderr);
    assert.equal((JSON.parse(thawed.stdout) as { Frozen: boolean }).Frozen, false);
    await createSnapshot(tenant, diskId); // 20 GiB × 0.25 = 5.00

    const listed = await run('orders', '--account', accountId, '--json');
    assert.equal(listed.code, 0, listed.stderr);
    const orders = JSON.parse(listed.stdout) as Record<string, unknown>[];
    assert.equal(orders.length, 1);
    assert.equal(orders[0]?.Amount, 5);
    const orderId = orders[0]?.OrderId as string;

    const table = await run('orders');
    assert.equal(table.code, 0, table.stderr);
    assert.match(table.stdout, /^ORDER ID\s+ACCOUNT ID/);
    assert.match(table.stdout, new RegExp(`^${orderId}\\s+${accountId}\\s+snapshot\\s+CreateSnapshot`, 'm'));

    const shown = await run('orders', 'show', orderId);
    assert.equal(shown.code, 0, shown.stderr);
    assert.match(shown.stdout, /^Amount\s+5$/m);

    const bad = await run('account', 'set', accountId, '--frozen', 'maybe');
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /InvalidParameter\.Frozen/);
    const missing = await run('orders', 'show', '1');
    assert.equal(missing.code, 2);
  });
});
