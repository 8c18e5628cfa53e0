// The job runner over the real SQLite repository, with a hand-driven engine: a copy that is
// interrupted (shutdown or crash) resumes, progress is kept, failures end in `error`.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { JobRunner, jobGiveUp, jobHandlers, type JobEngine } from '../../src/domain/jobs.js';
import { SqliteRepository } from '../../src/storage/sqlite/sqlite-repository.js';

const SECRET_KEY = randomBytes(32);

const dirs: string[] = [];
after(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

function dbFile(): string {
  const d = mkdtempSync(path.join(tmpdir(), 'ensnap-jobs-'));
  dirs.push(d);
  return path.join(d, 'ensnap.db');
}

/** An engine whose copy reports 50% and then waits until released (or aborted). */
function slowEngine(failWith?: string) {
  let release: () => void = () => {};
  const copies: string[] = [];
  const engine: JobEngine = {
    async deleteVolume() {},
    async beginSnapshot() {
      return 'copying' as const;
    },
    async deleteSnapshot() {},
    async abandonSnapshot() {},
    async shareSnapshot() {},
    async copySnapshot(snapshotId, onProgress, signal) {
      copies.push(snapshotId);
      await onProgress(0.5);
      if (failWith) throw new Error(failWith);
      await new Promise<void>((resolve, reject) => {
        release = resolve;
        signal.addEventListener('abort', () => reject(signal.reason), { once: true });
      });
      await onProgress(1);
    },
  };
  return { engine, copies, release: () => release() };
}

const OPTIONS = {
  concurrency: 2,
  pollMs: 20,
  leaseMs: 60_000,
  maxAttempts: 3,
  retryDelayMs: 1,
  waitDelayMs: 1,
};
const ACCOUNT = '1000000000000001';

/** A disk and a creating snapshot of it, whose job is runnable from `jobRunAfterMs`. */
async function seed(repo: SqliteRepository, jobRunAfterMs = Date.now()): Promise<string> {
  await repo.upsertAccessKey(
    { accessKeyId: 'ak', secret: 's', accountId: ACCOUNT, status: 'Active' },
    'root',
  );
  await repo.insertDisk({
    id: 'd-1',
    accountId: ACCOUNT,
    regionId: 'r',
    name: '',
    description: '',
    category: 'cloud_ssd',
    sizeMib: 20480,
    status: 'Available',
    type: '2',
    chargeType: 'postpay',
    encrypted: false,
    kmsKeyId: '',
    snapshotId: '',
    createdMs: 1,
    tags: [],
  });
  const outcome = await repo.createSnapshot(
    {
      id: 's-1',
      accountId: ACCOUNT,
      regionId: 'r',
      diskId: 'd-1',
      diskCategory: 'cloud_ssd',
      diskType: '2',
      sizeMib: 0,
      name: '',
      description: '',
      status: 'creating',
      progress: 0,
      sourceRegionId: 'r',
      sourceSnapshotId: '',
      orderId: '1',
      createdMs: 1,
      lastError: '',
    },
    {
      id: '1',
      accountId: ACCOUNT,
      product: 'snapshot',
      action: 'CreateSnapshot',
      resourceId: 's-1',
      regionId: 'r',
      state: 'paid',
      amount: 0,
      createdMs: 1,
    },
    { pricePerGibMonth: 0, quotas: { snapshotsPerDisk: 64, snapshotsPerAccount: 0, snapshotCapacityGib: 0 } },
    jobRunAfterMs,
  );
  assert.ok(typeof outcome === 'object' && outcome.jobId > 0, String(outcome));
  return 's-1';
}

const until = async (check: () => Promise<boolean>) => {
  for (let i = 0; i < 200 && !(await check()); i++) await new Promise((r) => setTimeout(r, 10));
  assert.ok(await check(), 'condition not reached');
};

describe('job runner', () => {
  it('a shutdown mid-copy checkpoints the job; the next start finishes it', async () => {
    const file = dbFile();
    let repo = new SqliteRepository(file, { secretKey: SECRET_KEY });
    const id = await seed(repo);
    const first = slowEngine();
    const runner = new JobRunner(
      repo,
      jobHandlers(repo, first.engine),
      jobGiveUp(repo, first.engine),
      OPTIONS,
      () => {},
    );
    await runner.start();
    await until(async () => (await repo.getSnapshot(ACCOUNT, id))?.progress === 50);
    await runner.stop();
    assert.deepEqual(await repo.countJobs(), { queued: 1, running: 0 });
    repo.close();

    repo = new SqliteRepository(file, { secretKey: SECRET_KEY });
    const second = slowEngine();
    const again = new JobRunner(
      repo,
      jobHandlers(repo, second.engine),
      jobGiveUp(repo, second.engine),
      OPTIONS,
      () => {},
    );
    await again.start();
    await until(async () => second.copies.length === 1);
    second.release();
    await until(async () => (await repo.getSnapshot(ACCOUNT, id))?.status === 'available');
    assert.equal((await repo.getSnapshot(ACCOUNT, id))?.progress, 100);
    await again.stop();
    repo.close();
  });

  it('a CreateSnapshot job waits for its run-after time unless it is expedited', async () => {
    const repo = new SqliteRepository(dbFile(), { secretKey: SECRET_KEY });
    await seed(repo, Date.now() + 60_000);
    const now = Date.now();
    assert.deepEqual(await repo.claimJobs(now, now + 1000, 10), [], 'not runnable before its time');
    await repo.expediteJob(1, now);
    const claimed = await repo.claimJobs(now, now + 1000, 10);
    assert.deepEqual(
      claimed.map((job) => [job.id, job.kind]),
      [[1, 'snapshot.create']],
    );
    // A running job is left as it is (it is not queued again by a late expedite).
    await repo.expediteJob(1, now);
    assert.deepEqual(await repo.countJobs('snapshot.create'), { queued: 0, running: 1 });
    await repo.close();
  });

  it('a job left running by a crashed process is claimed again on restart', async () => {
    const file = dbFile();
    const crashed = new SqliteRepository(file, { secretKey: SECRET_KEY });
    const id = await seed(crashed);
    const claimed = await crashed.claimJobs(Date.now(), Date.now() + 60_000, 10);
    assert.deepEqual(
      claimed.map((j) => j.resourceId),
      [id],
    );
    assert.deepEqual(await crashed.countJobs(), { queued: 0, running: 1 });
    crashed.close(); // the process "dies" holding the job

    const repo = new SqliteRepository(file, { secretKey: SECRET_KEY });
    const engine = slowEngine();
    const runner = new JobRunner(
      repo,
      jobHandlers(repo, engine.engine),
      jobGiveUp(repo, engine.engine),
      OPTIONS,
      () => {},
    );
    await runner.start();
    await until(async () => engine.copies.length === 1);
    engine.release();
    await until(async () => (await repo.getSnapshot(ACCOUNT, id))?.status === 'available');
    await runner.stop();
    repo.close();
  });

  it('a copy that keeps failing ends the snapshot in error, with the reason kept', async () => {
    const repo = new SqliteRepository(dbFile(), { secretKey: SECRET_KEY });
    const id = await seed(repo);
    const engine = slowEngine('chunk store unreachable');
    const runner = new JobRunner(
      repo,
      jobHandlers(repo, engine.engine),
      jobGiveUp(repo, engine.engine),
      OPTIONS,
      () => {},
    );
    await runner.start();
    await until(async () => (await repo.getSnapshot(ACCOUNT, id))?.status === 'error');
    assert.equal(engine.copies.length, OPTIONS.maxAttempts);
    assert.equal((await repo.getSnapshot(ACCOUNT, id))?.lastError, 'chunk store unreachable');
    await runner.stop();
    repo.close();
  });
});
