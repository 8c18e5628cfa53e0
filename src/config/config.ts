// One typed configuration, read once: command-line flags over environment variables over
// defaults. A bad value stops the process with a message that says what to fix.
import { DEFAULT_REGION_IDS } from '../domain/regions.js';
import type { IdProfile } from '../domain/ids.js';
import type { SnapshotPolicy } from '../domain/model.js';
import { parseSecretKey } from './secret-key.js';

export interface Config {
  host: string;
  port: number;
  dataDir: string;
  rootAccessKeyId?: string;
  rootAccessKeySecret?: string;
  /** Seals AccessKeySecrets in the database; unset: the key in `secret.key` (generated once). */
  secretKey?: Buffer;
  regions: string[];
  profile: IdProfile;
  logLevel: string;
  /** Run background jobs (off: snapshots stay creating until a start with jobs on). */
  jobs: boolean;
  jobConcurrency: number;
  bodyLimitBytes: number;
  /** Fault injection on (rules may be set) or off (no rules, the fault operations refused). */
  faults: boolean;
  /** A JSON list of fault rules loaded at start. */
  faultsFile?: string;
  /** Seeds the rules that have no seed of their own; unset: a random seed per start. */
  faultsSeed?: number;
  /** Prices (currency units per GiB for one month) and default quotas of CreateSnapshot. */
  snapshotPolicy: SnapshotPolicy;
  diskPricePerGibMonth: number;
}

export class ConfigError extends Error {}

/** Every setting: flag name, environment variable, default, meaning (the README table is this). */
export const SETTINGS = [
  ['--host', 'ENSNAP_HOST', '127.0.0.1', 'address to listen on'],
  ['--port', 'ENSNAP_PORT', '8080', 'TCP port (0 picks a free one)'],
  ['--data-dir', 'ENSNAP_DATA_DIR', './data', 'data directory: database, credentials'],
  [
    '--root-access-key-id',
    'ENSNAP_ROOT_ACCESS_KEY_ID',
    '(generated)',
    "the operator's AccessKeyId (root of account 1000000000000001; replaces the previous)",
  ],
  [
    '--root-access-key-secret',
    'ENSNAP_ROOT_ACCESS_KEY_SECRET',
    '(generated)',
    "the operator's AccessKeySecret",
  ],
  [
    '--secret-key',
    'ENSNAP_SECRET_KEY',
    '(generated: secret.key)',
    'key sealing AccessKeySecrets in the database: 32 bytes, base64 or hex',
  ],
  ['--regions', 'ENSNAP_REGIONS', 'ten edge nodes', 'comma-separated EnsRegionIds served'],
  ['--profile', 'ENSNAP_PROFILE', 'seed', 'seed (SnapShotId string, s- ids) or current (array, sp- ids)'],
  ['--log-level', 'ENSNAP_LOG_LEVEL', 'info', 'pino level: fatal, error, warn, info, debug, silent'],
  ['--jobs', 'ENSNAP_JOBS', 'on', 'on or off: run background snapshot and delete jobs'],
  ['--job-concurrency', 'ENSNAP_JOB_CONCURRENCY', '64', 'background jobs run at once'],
  ['--body-limit', 'ENSNAP_BODY_LIMIT', '1048576', 'largest request body accepted, in bytes'],
  [
    '--faults',
    'ENSNAP_FAULTS',
    'on',
    'on or off: fault injection (off: no rules, the fault operations refused)',
  ],
  ['--faults-file', 'ENSNAP_FAULTS_FILE', '(none)', 'JSON list of fault rules loaded at start'],
  [
    '--faults-seed',
    'ENSNAP_FAULTS_SEED',
    '(random)',
    'seed of the fault rules without a seed of their own: 0 to 4294967295',
  ],
  [
    '--snapshot-price-per-gib-month',
    'ENSNAP_SNAPSHOT_PRICE_PER_GIB_MONTH',
    '0',
    "a CreateSnapshot order's amount: this × the disk's GiB (one month), taken from the balance",
  ],
  [
    '--disk-price-per-gib-month',
    'ENSNAP_DISK_PRICE_PER_GIB_MONTH',
    '0',
    "a ResizeDisk order's amount: this × the GiB added (one month)",
  ],
  ['--snapshots-per-disk', 'ENSNAP_SNAPSHOTS_PER_DISK', '64', 'snapshots a disk may have (0: no limit)'],
  [
    '--snapshots-per-account',
    'ENSNAP_SNAPSHOTS_PER_ACCOUNT',
    '0',
    'snapshots an account may have (0: no limit)',
  ],
  [
    '--snapshot-capacity-gib',
    'ENSNAP_SNAPSHOT_CAPACITY_GIB',
    '0',
    "GiB an account's snapshots may add up to, by their disks' sizes (0: no limit)",
  ],
] as const;

type Source = Record<string, string | undefined>;

export function loadConfig(flags: Source, env: Source = process.env): Config {
  const get = (flag: string): string | undefined => {
    const setting = SETTINGS.find((s) => s[0] === flag);
    if (!setting) throw new Error(`no setting ${flag}`);
    const value = flags[flag.slice(2)] ?? env[setting[1]];
    return value === '' ? undefined : value;
  };
  const int = (flag: string, fallback: number, min: number, max: number): number => {
    const raw = get(flag);
    if (raw === undefined) return fallback;
    const n = Number(raw);
    if (!Number.isInteger(n) || n < min || n > max) {
      throw new ConfigError(`${flag} must be a whole number from ${min} to ${max}, not "${raw}"`);
    }
    return n;
  };
  const onOff = (flag: string, fallback: boolean): boolean => {
    const raw = get(flag);
    if (raw === undefined) return fallback;
    if (raw === 'on' || raw === 'true' || raw === '1') return true;
    if (raw === 'off' || raw === 'false' || raw === '0') return false;
    throw new ConfigError(`${flag} must be on or off, not "${raw}"`);
  };
  const price = (flag: string): number => {
    const raw = get(flag);
    if (raw === undefined) return 0;
    if (!/^[0-9]{1,9}(\.[0-9]{1,6})?$/.test(raw)) {
      throw new ConfigError(`${flag} must be an amount like 0.12, not "${raw}"`);
    }
    return Number(raw);
  };

  const profile = get('--profile') ?? 'seed';
  if (profile !== 'seed' && profile !== 'current') {
    throw new ConfigError(`--profile (ENSNAP_PROFILE) must be seed or current, not "${profile}"`);
  }
  const rootAccessKeyId = get('--root-access-key-id');
  const rootAccessKeySecret = get('--root-access-key-secret');
  if ((rootAccessKeyId === undefined) !== (rootAccessKeySecret === undefined)) {
    throw new ConfigError('set both ENSNAP_ROOT_ACCESS_KEY_ID and ENSNAP_ROOT_ACCESS_KEY_SECRET, or neither');
  }
  const secretKeyText = get('--secret-key');
  const secretKey = secretKeyText === undefined ? undefined : parseSecretKey(secretKeyText);
  if (secretKeyText !== undefined && secretKey === undefined) {
    throw new ConfigError(
      '--secret-key (ENSNAP_SECRET_KEY) must be 32 bytes as 64 hex digits or base64, e.g. `openssl rand -base64 32`',
    );
  }
  const regions = (get('--regions') ?? DEFAULT_REGION_IDS.join(','))
    .split(',')
    .map((r) => r.trim())
    .filter(Boolean);
  const badRegion = regions.find((r) => !/^[a-z0-9][a-z0-9-]{1,63}$/.test(r));
  if (badRegion !== undefined || regions.length === 0) {
    throw new ConfigError(`--regions needs EnsRegionIds like cn-beijing-15 (got "${badRegion ?? ''}")`);
  }
  return {
    host: get('--host') ?? '127.0.0.1',
    port: int('--port', 8080, 0, 65535),
    dataDir: get('--data-dir') ?? './data',
    rootAccessKeyId,
    rootAccessKeySecret,
    secretKey,
    regions,
    profile,
    logLevel: get('--log-level') ?? 'info',
    jobs: onOff('--jobs', true),
    jobConcurrency: int('--job-concurrency', 64, 1, 64),
    bodyLimitBytes: int('--body-limit', 1024 * 1024, 1024, 64 * 1024 * 1024),
    faults: onOff('--faults', true),
    faultsFile: get('--faults-file'),
    faultsSeed: get('--faults-seed') === undefined ? undefined : int('--faults-seed', 0, 0, 0xffffffff),
    snapshotPolicy: {
      pricePerGibMonth: price('--snapshot-price-per-gib-month'),
      quotas: {
        snapshotsPerDisk: int('--snapshots-per-disk', 64, 0, 1_000_000_000),
        snapshotsPerAccount: int('--snapshots-per-account', 0, 0, 1_000_000_000),
        snapshotCapacityGib: int('--snapshot-capacity-gib', 0, 0, 1_000_000_000_000),
      },
    },
    diskPricePerGibMonth: price('--disk-price-per-gib-month'),
  };
}
