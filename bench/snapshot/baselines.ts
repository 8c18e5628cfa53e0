// The snapshot benchmark's baselines: restic and borg on the same image, measured the way the
// project measured them before (one warmup, then RUNS timed runs, median reported).
//
// - restic: repo `init --repository-version 2` (compression needs it), `backup -q --host bench
//   --compression off|auto IMG`, `RESTIC_PASSWORD` set, its own cache dir per repo.
// - borg: `init -e none`, `create -C zstd` and `create -C lz4 --sparse --chunker-params fixed,65536`,
//   its own BORG_BASE_DIR (cache, security dir) per repo.
// - Full backups: a fresh repo per run (init in the untimed set-up, then `sync`).
// - Restore (before the image changes): `restic restore latest` from the --compression auto repo,
//   `borg extract --sparse` from the fixed-64-KiB repo, each into an emptied dir; sha256 checked.
//   restic's is also timed with an fsync of the restored file right after it (restic does not
//   flush what it restores; ensnap's restore is durable when done), and once more from a cold
//   repo: its files dropped from the page cache first (ensnap writes its packs past the page
//   cache, so its restore always reads them from the disk; restic's repo, written moments
//   before, would otherwise be read from memory).
// - Incremental: the last full run's repo + cache is kept as the base; every incremental run
//   starts from a copy of it (untimed, then `sync`) and backs up the modified image (same path,
//   so restic finds its parent snapshot).
// - Stored bytes: apparent size of the repo directory (like `du -sb`), after every run.
// The timed commands include no `sync` (restic and borg fsync their own repo files); the set-up
// before each run ends with one, so no run pays for the previous run's writes.
import { mkdir, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import {
  apparentSize,
  available,
  cleanEnv,
  errorText,
  evictFromPageCache,
  flushFile,
  repeat,
  run,
  sha256File,
  syncDisks,
  type Figure,
} from './common.js';

export type Tool = 'restic' | 'borg';

export const INSTALL_HINT = 'apt-get install restic borgbackup';

interface Config {
  id: string;
  tool: Tool;
  label: string;
  args: string[];
  /** Kept after the full runs as the base of incremental runs, a restore, or both. */
  incremental: boolean;
  restore: boolean;
}

export const CONFIGS: Config[] = [
  {
    id: 'restic-off',
    tool: 'restic',
    label: 'restic --compression off',
    args: ['--compression', 'off'],
    incremental: true,
    restore: false,
  },
  {
    id: 'restic-auto',
    tool: 'restic',
    label: 'restic --compression auto',
    args: ['--compression', 'auto'],
    incremental: true,
    restore: true,
  },
  {
    id: 'borg-zstd',
    tool: 'borg',
    label: 'borg -C zstd',
    args: ['-C', 'zstd'],
    incremental: false,
    restore: false,
  },
  {
    id: 'borg-fixed',
    tool: 'borg',
    label: 'borg -C lz4 --sparse --chunker-params fixed,65536',
    args: ['-C', 'lz4', '--sparse', '--chunker-params', 'fixed,65536'],
    incremental: true,
    restore: true,
  },
];

/** Installed tools and their version lines. */
export async function detectTools(): Promise<Partial<Record<Tool, string>>> {
  const found: Partial<Record<Tool, string>> = {};
  const restic = await available('restic', ['version']);
  if (restic) found.restic = restic;
  const borg = await available('borg', ['--version']);
  if (borg) found.borg = borg;
  return found;
}

export interface BaselineOptions {
  /** A directory of its own inside the benchmark's temp dir. */
  dir: string;
  image: string;
  /** sha256 of the image as first generated (restores must give it back). */
  imageSha256: string;
  runs: number;
  tools: Tool[];
}

export class Baselines {
  readonly figures: Figure[] = [];
  /** Lines for the report: failures, checks. */
  readonly notes: string[] = [];
  private readonly baseBytes = new Map<string, number>();
  private readonly env: NodeJS.ProcessEnv;

  constructor(private readonly o: BaselineOptions) {
    this.env = {
      ...cleanEnv('RESTIC_', 'BORG_'),
      RESTIC_PASSWORD: 'bench',
      BORG_UNKNOWN_UNENCRYPTED_REPO_ACCESS_IS_OK: 'yes',
      BORG_RELOCATED_REPO_ACCESS_IS_OK: 'yes',
    };
  }

  private configs(): Config[] {
    return CONFIGS.filter((c) => this.o.tools.includes(c.tool));
  }

  private base(c: Config): string {
    return path.join(this.o.dir, 'base', c.id);
  }

  /** The environment for a tool working in `state` (repo at state/repo, cache beside it). */
  private envFor(c: Config, state: string): NodeJS.ProcessEnv {
    return c.tool === 'restic'
      ? { ...this.env, RESTIC_CACHE_DIR: path.join(state, 'cache') }
      : { ...this.env, BORG_BASE_DIR: path.join(state, 'borg-base') };
  }

  private async init(c: Config, state: string): Promise<void> {
    const repo = path.join(state, 'repo');
    const env = this.envFor(c, state);
    if (c.tool === 'restic')
      await run('restic', ['init', '-q', '--repository-version', '2', '-r', repo], { env });
    else await run('borg', ['init', '-e', 'none', repo], { env });
  }

  private async backup(c: Config, state: string, archive: string): Promise<number> {
    const repo = path.join(state, 'repo');
    const env = this.envFor(c, state);
    const result =
      c.tool === 'restic'
        ? await run('restic', ['-r', repo, 'backup', '-q', '--host', 'bench', ...c.args, this.o.image], {
            env,
          })
        : await run('borg', ['create', ...c.args, `${repo}::${archive}`, this.o.image], { env });
    return result.seconds;
  }

  private add(figure: Figure): void {
    this.figures.push(figure);
  }

  /** Full backups: a fresh repo per run; the last run's repo stays as the base for later phases. */
  async fullBackups(): Promise<void> {
    for (const c of this.configs()) {
      const work = path.join(this.o.dir, 'full');
      const bytes: number[] = [];
      try {
        const times = await repeat(`${c.label} full`, this.o.runs, {
          prepare: async () => {
            await rm(work, { recursive: true, force: true });
            await mkdir(work, { recursive: true });
            await this.init(c, work);
            await syncDisks();
          },
          measure: () => this.backup(c, work, 'a'),
          after: async (i) => {
            if (i >= 0) bytes.push(await apparentSize(path.join(work, 'repo')));
          },
        });
        this.add({ id: `${c.id}.full`, label: `${c.label}: full backup`, unit: 's', values: times });
        this.add({
          id: `${c.id}.full.bytes`,
          label: `${c.label}: stored after full`,
          unit: 'B',
          values: bytes,
        });
        if (c.incremental || c.restore) {
          await rm(this.base(c), { recursive: true, force: true });
          await mkdir(path.dirname(this.base(c)), { recursive: true });
          await rename(work, this.base(c));
          this.baseBytes.set(c.id, bytes[bytes.length - 1] as number);
        }
      } catch (error) {
        this.notes.push(`!! ${c.label}: full backup failed: ${errorText(error)}`);
      } finally {
        await rm(work, { recursive: true, force: true });
      }
    }
  }

  /** Restores of the base repos (the unmodified image) into an emptied dir; sha256 checked. */
  async restores(): Promise<void> {
    const target = path.join(this.o.dir, 'restore');
    for (const c of this.configs().filter((x) => x.restore)) {
      if (!this.baseBytes.has(c.id)) continue;
      const state = this.base(c);
      const repo = path.join(state, 'repo');
      const env = this.envFor(c, state);
      const restored = path.join(target, this.o.image.replace(/^\/+/, ''));
      const label =
        c.tool === 'restic' ? `restic restore (${c.label} repo)` : `borg extract --sparse (${c.label} repo)`;
      // restic's restore ends with the file in the page cache, not on disk; ensnap's background
      // copy is durable when it is done. So restic's restore is also timed with the flush of the
      // file it wrote (one fsync right after it: the like-for-like figure).
      const durable: number[] = [];
      const coldDurable: number[] = [];
      try {
        const times = await repeat(label, this.o.runs, {
          prepare: async () => {
            await rm(target, { recursive: true, force: true });
            await mkdir(target, { recursive: true });
            await syncDisks();
          },
          measure: async () => {
            if (c.tool !== 'restic')
              return (await run('borg', ['extract', '--sparse', `${repo}::a`], { env, cwd: target })).seconds;
            const seconds = (
              await run('restic', ['-r', repo, 'restore', 'latest', '-q', '--target', target], { env })
            ).seconds;
            durable.push(seconds + (await flushFile(restored)));
            // The same restore from a cold repo (untimed set-up: empty the target, sync, evict).
            await rm(target, { recursive: true, force: true });
            await mkdir(target, { recursive: true });
            await syncDisks();
            await evictFromPageCache(repo);
            const cold = (
              await run('restic', ['-r', repo, 'restore', 'latest', '-q', '--target', target], { env })
            ).seconds;
            coldDurable.push(cold + (await flushFile(restored)));
            return seconds;
          },
          after: async (i) => {
            if (i !== this.o.runs - 1) return;
            const sum = await sha256File(restored);
            if (sum !== this.o.imageSha256) throw new Error(`restored image differs (sha256 ${sum})`);
            this.notes.push(`check: ${label}: restored image sha256 matches`);
          },
        });
        this.add({
          id: c.tool === 'restic' ? 'restic.restore' : 'borg.extract',
          label,
          unit: 's',
          values: times,
        });
        if (c.tool === 'restic')
          this.add({
            id: 'restic.restore.durable',
            label: `${label}, then its file flushed (fsync)`,
            unit: 's',
            values: durable.slice(1), // without the warmup's
          });
        if (c.tool === 'restic')
          this.add({
            id: 'restic.restore.cold.durable',
            label: `${label} from a cold repo (evicted from the page cache), then its file flushed`,
            unit: 's',
            values: coldDurable.slice(1),
          });
      } catch (error) {
        this.notes.push(`!! ${label} failed: ${errorText(error)}`);
      } finally {
        await rm(target, { recursive: true, force: true });
      }
    }
  }

  /** Incremental backups of the modified image, each run from a copy of the base repo + cache. */
  async incrementals(): Promise<void> {
    const work = path.join(this.o.dir, 'incremental');
    for (const c of this.configs().filter((x) => x.incremental)) {
      const before = this.baseBytes.get(c.id);
      if (before === undefined) continue;
      const added: number[] = [];
      try {
        const times = await repeat(`${c.label} incremental`, this.o.runs, {
          prepare: async () => {
            await rm(work, { recursive: true, force: true });
            await run('cp', ['-a', this.base(c), work]);
            await syncDisks();
          },
          measure: () => this.backup(c, work, 'b'),
          after: async (i) => {
            if (i >= 0) added.push((await apparentSize(path.join(work, 'repo'))) - before);
          },
        });
        this.add({ id: `${c.id}.incr`, label: `${c.label}: incremental backup`, unit: 's', values: times });
        this.add({
          id: `${c.id}.incr.added`,
          label: `${c.label}: bytes added by the incremental`,
          unit: 'B',
          values: added,
        });
      } catch (error) {
        this.notes.push(`!! ${c.label}: incremental backup failed: ${errorText(error)}`);
      } finally {
        await rm(work, { recursive: true, force: true });
      }
    }
  }
}
