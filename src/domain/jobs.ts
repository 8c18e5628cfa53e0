// The durable background jobs: what each kind does (through the ports) and the runner that claims
// them from the repository. A job is idempotent from its start, so a job interrupted by a crash
// or a shutdown simply runs again. Failures are data: the error stays in the job's row and, after
// the last attempt, in the snapshot (status error).
import { setMaxListeners } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Job, JobKind } from './model.js';
import {
  EngineNotReady,
  type BlockEngine,
  type JobEffect,
  type JobWaker,
  type MetadataRepository,
} from './ports.js';

/** Thrown by a handler that cannot proceed yet; the job is retried later without counting an attempt. */
export class NotYet extends Error {}

/** Thrown by a handler whose failure no retry can cure: the job gives up at once. */
export class GiveUp extends Error {}

/** Snapshot copies that a fault rule makes fail (`src/domain/faults.ts`). */
export interface SnapshotFaults {
  /** The failure message if the account's next snapshot copy is to fail. */
  takeSnapshotFailure(accountId: string): string | undefined;
}

const NO_SNAPSHOT_FAULTS: SnapshotFaults = { takeSnapshotFailure: () => undefined };

/** After a snapshot job's last attempt: the snapshot ends in error and the engine lets it go. */
export function jobGiveUp(repo: MetadataRepository, engine: JobEngine) {
  return async (job: Job, message: string): Promise<void> => {
    if (job.kind === 'snapshot.create' || job.kind === 'snapshot.share') {
      await engine.abandonSnapshot(job.resourceId);
      await repo.markSnapshotError(job.resourceId, message);
    }
  };
}

/** Runs a job; what it returns is written together with the job's completion. */
type Handler = (job: Job, signal: AbortSignal) => Promise<JobEffect | undefined>;

/** What the jobs need of the block engine. */
export type JobEngine = Pick<
  BlockEngine,
  'beginSnapshot' | 'copySnapshot' | 'abandonSnapshot' | 'shareSnapshot' | 'deleteSnapshot' | 'deleteVolume'
>;

export function jobHandlers(
  repo: MetadataRepository,
  engine: JobEngine,
  faults: SnapshotFaults = NO_SNAPSHOT_FAULTS,
): Record<JobKind, Handler> {
  return {
    'snapshot.create': async (job, signal) => {
      const snapshot = await repo.getSnapshot(job.accountId, job.resourceId);
      if (!snapshot || snapshot.status !== 'creating') return undefined;
      // An injected failure ends the snapshot as a failed copy does: through the give-up path.
      const injected = faults.takeSnapshotFailure(job.accountId);
      if (injected !== undefined) throw new GiveUp(injected);
      await engine.beginSnapshot(snapshot.id, snapshot.diskId);
      let reported = snapshot.progress;
      let saving: Promise<void> = Promise.resolve();
      await engine.copySnapshot(
        snapshot.id,
        async (fraction) => {
          // Progress is persisted in whole percent, at most 99 until the snapshot is available;
          // the end of the copy is not written apart: the job's completion sets 100. The copy
          // does not wait for each figure's commit (a flush each); the writes are chained, so
          // they land in order and before the completion, which is written after them.
          const percent = Math.min(99, Math.floor(fraction * 100));
          if (percent > reported && fraction < 1) {
            reported = percent;
            // A progress figure that cannot be written (the disk is full) fails nothing: the
            // completion, written next, meets the same condition and is retried as a job is.
            saving = saving.then(() => repo.setSnapshotProgress(snapshot.id, percent)).catch(() => undefined);
          }
        },
        signal,
      );
      await saving;
      return { type: 'snapshot-available', snapshotId: snapshot.id };
    },
    'snapshot.share': async (job) => {
      const snapshot = await repo.getSnapshot(job.accountId, job.resourceId);
      if (!snapshot || snapshot.status !== 'creating') return undefined;
      await engine.shareSnapshot(snapshot.sourceSnapshotId, snapshot.id);
      return { type: 'snapshot-available', snapshotId: snapshot.id };
    },
    'snapshot.delete': async (job) => {
      await engine.deleteSnapshot(job.resourceId);
      return { type: 'snapshot-removed', accountId: job.accountId, snapshotId: job.resourceId };
    },
    'disk.delete': async (job) => {
      // Snapshots still being taken of this disk need its volume until they are done.
      if ((await repo.countCreatingSnapshots(job.accountId, job.resourceId)) > 0)
        throw new NotYet('snapshots in progress');
      await engine.deleteVolume(job.resourceId);
      return { type: 'disk-removed', accountId: job.accountId, diskId: job.resourceId };
    },
  };
}

/** Every running job listens to the one signal (a wait, a copy): no listener limit, no warning. */
function jobsController(): AbortController {
  const controller = new AbortController();
  setMaxListeners(0, controller.signal);
  return controller;
}

export interface JobRunnerOptions {
  concurrency: number;
  pollMs: number;
  leaseMs: number;
  maxAttempts: number;
  retryDelayMs: number;
  /** How soon a job that could not proceed yet (NotYet) is tried again. */
  waitDelayMs: number;
}

export class JobRunner implements JobWaker {
  private readonly running = new Map<number, Promise<void>>();
  /** Aborted by stop(): one for all the jobs of a run (stop interrupts them all at once). */
  private controller = jobsController();
  private stopped = true;
  private timer: NodeJS.Timeout | undefined;
  private pumping = false;
  private pumpAgain = false;

  constructor(
    private readonly repo: MetadataRepository,
    private readonly handlers: Record<JobKind, Handler>,
    private readonly giveUp: (job: Job, message: string) => Promise<void>,
    private readonly options: JobRunnerOptions,
    private readonly log: (event: Record<string, unknown>, message: string) => void,
  ) {}

  /** Resumes every job a previous process left running, then starts claiming. */
  async start(): Promise<void> {
    const resumed = await this.repo.requeueRunningJobs();
    if (resumed > 0) this.log({ resumed }, 'resumed jobs left running by a previous process');
    if (this.controller.signal.aborted) this.controller = jobsController();
    this.stopped = false;
    this.wake();
  }

  wake(): void {
    if (this.stopped) return;
    if (this.pumping) {
      this.pumpAgain = true;
      return;
    }
    void this.pump();
  }

  private async pump(): Promise<void> {
    this.pumping = true;
    try {
      do {
        this.pumpAgain = false;
        while (!this.stopped && this.running.size < this.options.concurrency) {
          // Every free slot is filled by one claim (one write), not one claim per job.
          const now = Date.now();
          const jobs = await this.repo.claimJobs(
            now,
            now + this.options.leaseMs,
            this.options.concurrency - this.running.size,
          );
          if (this.stopped) {
            for (const job of jobs)
              await this.repo.releaseJob(job.id, now, { failed: false, message: job.lastError });
            break;
          }
          jobs.forEach((job) => this.launch(job));
          if (jobs.length === 0) break;
        }
      } while (this.pumpAgain && !this.stopped);
    } catch (error) {
      this.log({ err: String(error) }, 'job claim failed');
    } finally {
      this.pumping = false;
    }
    if (!this.stopped) {
      clearTimeout(this.timer);
      this.timer = setTimeout(() => this.wake(), this.options.pollMs);
      this.timer.unref();
    }
  }

  private launch(job: Job): void {
    const done = this.execute(job, this.controller.signal).finally(() => {
      this.running.delete(job.id);
      this.wake();
    });
    this.running.set(job.id, done);
  }

  private async execute(job: Job, signal: AbortSignal): Promise<void> {
    try {
      await this.repo.completeJob(job.id, await this.handlers[job.kind](job, signal));
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      try {
        if (signal.aborted) {
          // Shutdown: checkpoint (progress is already persisted) and hand the job back.
          await this.repo.releaseJob(job.id, Date.now(), { failed: false, message: job.lastError });
        } else if (error instanceof NotYet || error instanceof EngineNotReady) {
          await this.repo.releaseJob(job.id, Date.now() + this.options.waitDelayMs, {
            failed: false,
            message,
          });
          setTimeout(() => this.wake(), this.options.waitDelayMs).unref();
        } else if (error instanceof GiveUp || job.attempts + 1 >= this.options.maxAttempts) {
          this.log({ jobId: job.id, kind: job.kind, resourceId: job.resourceId, err: message }, 'job failed');
          await this.giveUp(job, message);
          await this.repo.failJob(job.id, message);
        } else {
          const delay = this.options.retryDelayMs * 2 ** job.attempts;
          await this.repo.releaseJob(job.id, Date.now() + delay, { failed: true, message });
        }
      } catch (inner) {
        this.log(
          { jobId: job.id, err: String(inner) },
          'could not record the job outcome; it is handed back once the store takes writes again',
        );
        await this.handBack(job, signal);
      }
    }
  }

  /**
   * The job's outcome could not be written (the data directory is full, say), so the job is still
   * claimed in the table. It is handed back as soon as a write goes through, and runs again then,
   * rather than staying claimed (its snapshot `creating`) until the next start.
   */
  private async handBack(job: Job, signal: AbortSignal): Promise<void> {
    for (let delay = this.options.retryDelayMs; !signal.aborted; delay = Math.min(2 * delay, 5_000)) {
      await sleep(delay, undefined, { signal }).catch(() => undefined);
      if (signal.aborted) return; // stopping: the next start queues it again
      try {
        await this.repo.releaseJob(job.id, Date.now(), { failed: false, message: job.lastError });
        return;
      } catch {
        // still refused: try again later
      }
    }
  }

  /** Stops claiming, interrupts running jobs and waits until each has been handed back. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    this.controller.abort();
    await Promise.all(this.running.values());
  }

  get activeCount(): number {
    return this.running.size;
  }
}
