// Fault injection over the wire, through the official SDKs: each effect (a catalog error as the
// catalog says it, added latency, the next snapshot copy ending in error), counts, matching by
// account and region, a seeded 30 % rule, the metrics, the operator-only operations, the rules
// file and the off switch.
import assert from 'node:assert/strict';
import { rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, afterEach, before, describe, it } from 'node:test';
import { ERROR_CATALOG, FAULT_RULE_ONLY } from '../../src/errors/catalog.js';
import { startEnsnap, tempDataDir, type Running } from '../helpers/ensnap.js';
import {
  assertSdkError,
  createDisk,
  createSnapshot,
  OTHER_REGION,
  REGION,
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

const endpointOf = (
  server: Running,
  accessKeyId = server.accessKeyId,
  accessKeySecret = server.accessKeySecret,
) => ({
  endpoint: server.endpoint,
  hostPort: server.hostPort,
  accessKeyId,
  accessKeySecret,
});

async function metrics(server: Running): Promise<string> {
  return (await fetch(`${server.endpoint}/metrics`)).text();
}

describe('fault injection', () => {
  let server: Running;
  let pop: Client;
  let v3: Client;
  let tenant: Endpoint & { accountId: string; pop: Client };

  before(async () => {
    server = await startEnsnap({ ENSNAP_FAULTS_SEED: '7' });
    pop = plain(popCore(endpointOf(server)));
    v3 = plain(openApi(endpointOf(server)));
    const account = await ensnapCall(pop, 'CreateAccount', { AccountName: 'fault tester' });
    const e = endpointOf(server, account.AccessKeyId as string, account.AccessKeySecret as string);
    tenant = { ...e, accountId: account.AccountId as string, pop: plain(popCore(e)) };
  });
  afterEach(async () => {
    await ensnapCall(pop, 'ClearFaultRules');
  });
  after(() => server.stop());

  it('answers a catalog error as the catalog says it (code, status, message, envelope), exactly Count times', async () => {
    const added = await ensnapCall(pop, 'AddFaultRule', {
      MatchAction: 'CreateSnapshot',
      ErrorCode: 'IncorrectStatus.Disk',
      Count: 2,
    });
    assert.equal(added.RuleId, 'fr-1');
    assert.equal(added.Remaining, 2);
    const disk = await createDisk(pop);
    for (const sdk of [pop, v3]) {
      const error = await sdkError(() => createSnapshot(sdk, disk));
      assertSdkError(error, 'IncorrectStatus.Disk', 400, sdk.name);
      assert.equal(error.data.Message, ERROR_CATALOG['IncorrectStatus.Disk'].message);
    }
    // Spent: the third call runs, and the rule is gone.
    await createSnapshot(pop, disk);
    assert.equal((await ensnapCall(pop, 'DescribeFaultRules')).TotalCount, 0);
    assert.match(
      await metrics(server),
      /ensnap_faults_injected_total\{action="CreateSnapshot",code="IncorrectStatus\.Disk"\} 2\n/,
    );
  });

  it('every catalog code no real condition produces reaches the SDKs through a fault rule', async () => {
    const faultOnly = Object.entries(ERROR_CATALOG).filter(([, e]) => e.condition === FAULT_RULE_ONLY);
    assert.ok(faultOnly.length > 50, `${faultOnly.length} fault-only codes`);
    for (const [code, entry] of faultOnly) {
      await ensnapCall(pop, 'AddFaultRule', { MatchAction: 'CreateSnapshot', ErrorCode: code, Count: 1 });
      const sdk = code.length % 2 === 0 ? pop : v3;
      const error = await sdkError(() => sdk.call('CreateSnapshot', { EnsRegionId: REGION, DiskId: 'd-x' }));
      assertSdkError(error, code, entry.status, `${sdk.name} ${code}`);
      assert.equal(error.data.Message, entry.message, code);
    }
  });

  it('fills a templated code and answers a 5xx only when the catalog code is one', async () => {
    await ensnapCall(pop, 'AddFaultRule', {
      MatchAction: 'DescribeDisks',
      ErrorCode: 'InvalidParameter.DiskId',
      Count: 1,
    });
    const invalid = await sdkError(() => v3.call('DescribeDisks'));
    assertSdkError(invalid, 'InvalidParameter.DiskId', 400);
    assert.equal(invalid.data.Message, 'The specified field DiskId invalid. Please check it again.');
    await ensnapCall(pop, 'AddFaultRule', { MatchAction: '*', ErrorCode: 'StorageFull', Count: 1 });
    const full = await sdkError(() => pop.call('DescribeEnsRegions'));
    assertSdkError(full, 'StorageFull', 507);
  });

  it('adds latency before the call runs', async () => {
    await ensnapCall(pop, 'AddFaultRule', { MatchAction: 'DescribeEnsRegions', LatencyMs: 300, Count: 1 });
    let start = performance.now();
    await pop.call('DescribeEnsRegions');
    assert.ok(performance.now() - start >= 300, 'delayed by the rule');
    start = performance.now();
    await pop.call('DescribeEnsRegions');
    assert.ok(performance.now() - start < 300, 'the spent rule delays nothing');
  });

  it("makes the account's next snapshot copy end in error; the one after is fine", async () => {
    const disk = await createDisk(pop);
    const first = await createSnapshot(pop, disk);
    await waitSnapshotStatus(pop, first, 'available');
    await ensnapCall(pop, 'AddFaultRule', {
      MatchAction: 'CreateSnapshot',
      FailNextSnapshot: true,
      Count: 1,
    });
    // The disk is unchanged: without the rule this copy would be complete at once.
    const failed = await createSnapshot(pop, disk);
    await waitSnapshotStatus(pop, failed, 'error');
    const next = await createSnapshot(pop, disk);
    await waitSnapshotStatus(pop, next, 'available');
  });

  it('matches by account and by region', async () => {
    await ensnapCall(pop, 'AddFaultRule', {
      MatchAction: 'DescribeDisks',
      MatchAccountId: tenant.accountId,
      ErrorCode: 'NoPermission',
    });
    await pop.call('DescribeDisks');
    assertSdkError(await sdkError(() => tenant.pop.call('DescribeDisks')), 'NoPermission', 400);
    await ensnapCall(pop, 'ClearFaultRules');

    await ensnapCall(pop, 'AddFaultRule', {
      MatchAction: '*',
      MatchRegionId: REGION,
      ErrorCode: 'IncorrectInstanceStatus',
    });
    await pop.call('DescribeDisks', { EnsRegionId: OTHER_REGION });
    await pop.call('DescribeDisks');
    assertSdkError(
      await sdkError(() => tenant.pop.call('DescribeDisks', { EnsRegionId: REGION })),
      'IncorrectInstanceStatus',
      400,
    );
    // The fault operations are never faulted, so a rule for '*' can still be listed and cleared.
    assert.equal((await ensnapCall(pop, 'DescribeFaultRules')).TotalCount, 1);
  });

  it('a 30 % rule with a fixed seed fires on 30 % ± 5 % of 1,000 calls, the same calls every run', async () => {
    const run = async (): Promise<boolean[]> => {
      await ensnapCall(pop, 'AddFaultRule', {
        MatchAction: 'DescribeEnsRegions',
        ErrorCode: 'IncorrectInstanceStatus',
        Probability: 0.3,
        Seed: 12345,
      });
      const fired: boolean[] = [];
      for (let i = 0; i < 1000; i++)
        fired.push(
          await pop.call('DescribeEnsRegions').then(
            () => false,
            () => true,
          ),
        );
      await ensnapCall(pop, 'ClearFaultRules');
      return fired;
    };
    const first = await run();
    const count = first.filter(Boolean).length;
    assert.ok(count >= 250 && count <= 350, `fired ${count} times`);
    assert.deepEqual(await run(), first);
  });

  it('describes the active rules and counts them in the gauge', async () => {
    await ensnapCall(pop, 'AddFaultRule', { MatchAction: 'DeleteDisk', LatencyMs: 10 });
    await ensnapCall(pop, 'AddFaultRule', {
      MatchAction: 'CreateSnapshot',
      MatchAccountId: tenant.accountId,
      MatchRegionId: REGION,
      ErrorCode: 'IncorrectStatus.Disk',
      Probability: 0.5,
      Count: 3,
      Seed: 9,
    });
    const rules = (await ensnapCall(v3, 'DescribeFaultRules')).Rules as Record<string, unknown>[];
    assert.equal(rules.length, 2);
    assert.deepEqual(
      { ...rules[1], RuleId: undefined },
      {
        RuleId: undefined,
        MatchAction: 'CreateSnapshot',
        MatchAccountId: tenant.accountId,
        MatchRegionId: REGION,
        Probability: 0.5,
        Remaining: 3,
        Seed: 9,
        ErrorCode: 'IncorrectStatus.Disk',
        LatencyMs: 0,
        FailNextSnapshot: false,
        Fired: 0,
      },
    );
    assert.match(await metrics(server), /\nensnap_fault_rules 2\n/);
    assert.equal((await ensnapCall(pop, 'ClearFaultRules')).ClearedCount, 2);
    assert.match(await metrics(server), /\nensnap_fault_rules 0\n/);
  });

  it('refuses rules that are not one', async () => {
    const cases: [Params, string][] = [
      [{ MatchAction: 'CreateSnapshot' }, 'MissingParameter'],
      [{ ErrorCode: 'IncorrectStatus.Disk' }, 'MissingParameter'],
      [{ MatchAction: 'CreateSnapshot', ErrorCode: 'NoSuchCode' }, 'InvalidParameter.ErrorCode'],
      [{ MatchAction: 'CreateSnapshot', ErrorCode: 'InvalidParameter.%s' }, 'InvalidParameter.ErrorCode'],
      [
        { MatchAction: 'CreateSnapshot', ErrorCode: 'StorageFull', LatencyMs: 5 },
        'InvalidParameter.ErrorCode',
      ],
      [{ MatchAction: 'CreateSnapshot', LatencyMs: 5, Probability: 1.5 }, 'InvalidParameter.Probability'],
      [{ MatchAction: 'CreateSnapshot', LatencyMs: 5, Count: 0 }, 'InvalidParameter.Count'],
      [
        { MatchAction: 'CreateSnapshot', LatencyMs: 5, MatchAccountId: 'x' },
        'InvalidParameter.MatchAccountId',
      ],
    ];
    for (const [params, code] of cases)
      assertSdkError(
        await sdkError(() => ensnapCall(pop, 'AddFaultRule', params)),
        code,
        400,
        JSON.stringify(params),
      );
  });

  it('the fault operations are the operator root key’s alone', async () => {
    const rule = { MatchAction: '*', LatencyMs: 5 };
    for (const [action, params] of [
      ['AddFaultRule', rule],
      ['DescribeFaultRules', {}],
      ['ClearFaultRules', {}],
    ] as const) {
      const error = await sdkError(() => ensnapCall(tenant.pop, action, params));
      assertSdkError(error, 'NoPermission', 400, action);
    }
    assert.equal((await ensnapCall(pop, 'DescribeFaultRules')).TotalCount, 0);
  });
});

describe('fault rules from the configuration', () => {
  const dirs: string[] = [];
  after(() => dirs.forEach((dir) => rmSync(dir, { recursive: true, force: true })));
  const rulesFile = (rules: unknown): string => {
    const dir = tempDataDir();
    dirs.push(dir);
    const file = path.join(dir, 'faults.json');
    writeFileSync(file, JSON.stringify(rules));
    return file;
  };
  const FILE_RULES = [
    { MatchAction: 'DescribeEnsRegions', ErrorCode: 'IncorrectInstanceStatus', Count: 1 },
    { MatchAction: 'CreateSnapshot', LatencyMs: 50, Probability: 0.5, Seed: 1 },
  ];

  it('loads ENSNAP_FAULTS_FILE at start', async () => {
    const server = await startEnsnap({ ENSNAP_FAULTS_FILE: rulesFile(FILE_RULES) });
    try {
      const pop = plain(popCore(endpointOf(server)));
      const rules = (await ensnapCall(pop, 'DescribeFaultRules')).Rules as Record<string, unknown>[];
      assert.deepEqual(
        rules.map((r) => [r.RuleId, r.MatchAction]),
        [
          ['fr-1', 'DescribeEnsRegions'],
          ['fr-2', 'CreateSnapshot'],
        ],
      );
      assertSdkError(await sdkError(() => pop.call('DescribeEnsRegions')), 'IncorrectInstanceStatus', 400);
      await pop.call('DescribeEnsRegions');
    } finally {
      await server.stop();
    }
  });

  it('refuses to start with a bad rule in the file, saying which', async () => {
    await assert.rejects(
      startEnsnap({
        ENSNAP_FAULTS_FILE: rulesFile([FILE_RULES[0], { MatchAction: 'X', ErrorCode: 'Nope' }]),
      }),
      /rule 2: InvalidParameter\.ErrorCode/,
    );
  });

  it('ENSNAP_FAULTS=off: the file is not loaded and the fault operations answer FaultInjectionDisabled', async () => {
    const server = await startEnsnap({ ENSNAP_FAULTS: 'off', ENSNAP_FAULTS_FILE: rulesFile(FILE_RULES) });
    try {
      const pop = plain(popCore(endpointOf(server)));
      await pop.call('DescribeEnsRegions');
      for (const [action, params] of [
        ['AddFaultRule', { MatchAction: '*', LatencyMs: 5 }],
        ['DescribeFaultRules', {}],
        ['ClearFaultRules', {}],
      ] as const) {
        const error = await sdkError(() => ensnapCall(pop, action, params));
        assertSdkError(error, 'FaultInjectionDisabled', 400, action);
        assert.equal(error.data.Message, ERROR_CATALOG.FaultInjectionDisabled.message);
      }
      assert.match(await metrics(server), /\nensnap_fault_rules 0\n/);
    } finally {
      await server.stop();
    }
  });
});
