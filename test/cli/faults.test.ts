// `ensnap faults …` as the operator runs it: child processes against a real server. Rules are
// added (each effect), listed (table and JSON) and cleared; an SDK call meets them; refusals print
// the server's code and exit 1, usage errors 2. The startup banner says how many rules are active,
// and each injected fault is logged with its rule.
import assert from 'node:assert/strict';
import { rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ensnap, type Run } from '../helpers/cli.js';
import { cliEnv, type Running, spawnEnsnap, startEnsnap, tempDataDir } from '../helpers/ensnap.js';
import { assertSdkError, createDisk, createSnapshot, pop, waitSnapshotStatus } from '../helpers/fixtures.js';
import { sdkError } from '../helpers/sdk.js';

describe('ensnap faults', () => {
  let server: Running;
  let env: Record<string, string>;
  const run = (...args: string[]): Promise<Run> => ensnap(args, env).done;

  before(async () => {
    server = await startEnsnap({ ENSNAP_FAULTS_SEED: '3' });
    env = cliEnv(server);
  });
  after(() => server.stop());

  it('add, list (table and JSON), and clear; the rules act on SDK calls', async () => {
    const added = await run(
      'faults',
      'add',
      '--action',
      'CreateSnapshot',
      '--code',
      'IncorrectStatus.Disk',
      '--count',
      '1',
    );
    assert.equal(added.code, 0, added.stderr);
    assert.match(added.stdout, /^RULE\s+ACTION\s+ACCOUNT/);
    assert.match(added.stdout, /fr-1\s+CreateSnapshot\s+\*\s+\*\s+1\s+1\s+error IncorrectStatus\.Disk\s+0/);
    const latency = await run(
      'faults',
      'add',
      '--action',
      'DescribeEnsRegions',
      '--latency-ms',
      '200',
      '--probability',
      '0.5',
      '--seed',
      '11',
      '--json',
    );
    assert.equal(latency.code, 0, latency.stderr);
    assert.deepEqual(JSON.parse(latency.stdout), {
      RuleId: 'fr-2',
      MatchAction: 'DescribeEnsRegions',
      MatchAccountId: '',
      MatchRegionId: '',
      Probability: 0.5,
      Remaining: -1,
      Seed: 11,
      ErrorCode: '',
      LatencyMs: 200,
      FailNextSnapshot: false,
      Fired: 0,
    });
    const failing = await run(
      'faults',
      'add',
      '--action',
      'CreateSnapshot',
      '--fail-next-snapshot',
      '--account',
      '1000000000000001',
      '--region',
      'cn-beijing-15',
    );
    assert.equal(failing.code, 0, failing.stderr);
    assert.match(
      failing.stdout,
      /fr-3\s+CreateSnapshot\s+1000000000000001\s+cn-beijing-15\s+1\s+-\s+fail next snapshot/,
    );

    const sdk = pop(server);
    const disk = await createDisk(sdk);
    // fr-1 answers the first call (rules after one that answers an error are not run); fr-3 fires
    // on the second.
    assertSdkError(await sdkError(() => createSnapshot(sdk, disk)), 'IncorrectStatus.Disk', 400);
    const snapshot = await createSnapshot(sdk, disk);
    await waitSnapshotStatus(sdk, snapshot, 'error');

    const listed = await run('faults', 'list');
    assert.equal(listed.code, 0, listed.stderr);
    const lines = listed.stdout.trim().split('\n');
    assert.equal(lines.length, 3, listed.stdout);
    assert.match(lines[2] ?? '', /^fr-3 .* fail next snapshot\s+1\s+\d+$/);
    const json = await run('faults', 'list', '--json');
    assert.deepEqual(
      (JSON.parse(json.stdout) as { RuleId: string }[]).map((r) => r.RuleId),
      ['fr-2', 'fr-3'],
    );

    const cleared = await run('faults', 'clear');
    assert.equal(cleared.code, 0, cleared.stderr);
    assert.equal(cleared.stdout, 'cleared 2 fault rule(s)\n');
    assert.equal((await run('faults', 'list')).stdout, 'no fault rules\n');
  });

  it('refusals exit 1 with the server’s code; usage errors exit 2', async () => {
    const bad = await run('faults', 'add', '--action', 'CreateSnapshot', '--code', 'NoSuchCode');
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /^ensnap: InvalidParameter\.ErrorCode: /);
    const noAction = await run('faults', 'add', '--code', 'StorageFull');
    assert.equal(noAction.code, 2);
    assert.match(noAction.stderr, /--action <Action\|\*> is required/);
    const created = await pop(server).call('CreateAccount', {}, { version: '2026-11-01' });
    const other = await ensnap(['faults', 'list'], {
      ...env,
      ENSNAP_ACCESS_KEY_ID: created.AccessKeyId as string,
      ENSNAP_ACCESS_KEY_SECRET: created.AccessKeySecret as string,
    }).done;
    assert.equal(other.code, 1);
    assert.match(other.stderr, /^ensnap: NoPermission: /);
    const help = await run('faults', '--help');
    assert.equal(help.code, 0);
    assert.match(help.stdout, /--fail-next-snapshot/);
  });
});

describe('ensnap serve with fault rules', () => {
  it('the banner says how many rules are active; each injected fault is logged with its rule', async () => {
    const dataDir = tempDataDir();
    const file = path.join(dataDir, 'faults.json');
    writeFileSync(
      file,
      JSON.stringify([{ MatchAction: 'DescribeEnsRegions', ErrorCode: 'IncorrectInstanceStatus' }]),
    );
    const child = await spawnEnsnap(dataDir, {
      ENSNAP_FAULTS_FILE: file,
      ENSNAP_FAULTS_SEED: '5',
      ENSNAP_LOG_LEVEL: 'info',
    });
    try {
      assert.match(
        child.output(),
        /fault injection is on: 1 rule\(s\) active \(seed 5; ensnap faults list\)/,
      );
      assertSdkError(
        await sdkError(() => pop(child).call('DescribeEnsRegions')),
        'IncorrectInstanceStatus',
        400,
      );
      const deadline = Date.now() + 5_000;
      while (!/"msg":"fault injected"/.test(child.output()) && Date.now() < deadline)
        await new Promise((r) => setTimeout(r, 50));
      const line = child
        .output()
        .split('\n')
        .find((l) => l.includes('"msg":"fault injected"'));
      assert.ok(line, child.output());
      const logged = JSON.parse(line) as Record<string, unknown>;
      assert.equal(logged.ruleId, 'fr-1');
      assert.equal(logged.code, 'IncorrectInstanceStatus');
      assert.equal(logged.action, 'DescribeEnsRegions');
    } finally {
      child.process.kill('SIGTERM');
      await child.exited;
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it('ENSNAP_FAULTS=off: the banner says so', async () => {
    const dataDir = tempDataDir();
    const child = await spawnEnsnap(dataDir, { ENSNAP_FAULTS: 'off' });
    try {
      assert.match(child.output(), /fault injection is OFF \(ENSNAP_FAULTS=off\)/);
    } finally {
      child.process.kill('SIGTERM');
      await child.exited;
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
