// Wiring: configuration in, a running service out. The only module that knows every layer.
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import pino, { type Logger } from 'pino';
import { ConfigError, type Config } from './config/config.js';
import { resolveRootCredentials, ROOT_ACCOUNT_ID, type RootCredentials } from './config/root-credentials.js';
import { AccountService } from './domain/accounts.js';
import { BillingService } from './domain/billing.js';
import { resolveSecretKey } from './config/secret-key.js';
import { DATA_MAX_BYTES, DiskDataService } from './domain/disk-data.js';
import { DiskService } from './domain/disks.js';
import { FaultService } from './domain/faults.js';
import { readFaultRulesFile } from './config/faults-file.js';
import { Authorizer } from './domain/iam/authorizer.js';
import { IamService } from './domain/iam/iam-service.js';
import { JobRunner, jobGiveUp, jobHandlers } from './domain/jobs.js';
import type { AccessKey } from './domain/model.js';
import { RegionCatalog } from './domain/region-catalog.js';
import { SnapshotService } from './domain/snapshots.js';
import { Authenticator } from './protocol/authenticate.js';
import { NonceCache } from './protocol/nonce-cache.js';
import { RpcDispatcher } from './protocol/rpc-dispatcher.js';
import { createHttpServer } from './server/http-server.js';
import { Metrics } from './server/metrics.js';
import { BlockStore } from './storage/engine/block-store.js';
import { SqliteRepository } from './storage/sqlite/sqlite-repository.js';
import { ApiError } from './errors/catalog.js';
import { randomInt } from 'node:crypto';

const TIMESTAMP_WINDOW_MS = 15 * 60 * 1000;
const NONCE_CACHE_ENTRIES = 2_000_000;

export interface Ensnap {
  http: FastifyInstance;
  root: RootCredentials;
  faults: FaultService;
  log: Logger;
  /** Listens; resolves with the endpoint URL. */
  listen(): Promise<string>;
  /** Graceful stop: no new requests, in-flight ones finish, jobs checkpoint, database closes. */
  close(): Promise<void>;
}

// Log lines go to stdout in blocks of 4 KiB or more (about 25 request lines; one write each, not
// one per request), and at least every 100 ms; pino writes what is left when the process exits.
function defaultLogger(config: Config): Logger {
  const destination = pino.destination({ dest: 1, sync: false, minLength: 4096 });
  setInterval(() => destination.flush(), 100).unref();
  return pino({ level: config.logLevel }, destination);
}

export async function createEnsnap(config: Config, log: Logger = defaultLogger(config)): Promise<Ensnap> {
  const faults = new FaultService({
    enabled: config.faults,
    seed: config.faultsSeed ?? randomInt(2 ** 32),
    operatorAccountId: ROOT_ACCOUNT_ID,
    onInjected(fault) {
      log.info(fault, 'fault injected');
      metrics.faultInjected(fault.action, fault.code);
    },
  });
  // The rules file is read before anything is opened, so a bad rule stops the start cleanly.
  if (config.faults && config.faultsFile !== undefined) loadFaultRules(faults, config.faultsFile);

  mkdirSync(config.dataDir, { recursive: true, mode: 0o700 });
  const root = resolveRootCredentials(config.dataDir, config.rootAccessKeyId, config.rootAccessKeySecret);
  const repo = new SqliteRepository(path.join(config.dataDir, 'ensnap.db'), {
    secretKey: resolveSecretKey(config.dataDir, config.secretKey),
    writerThread: true,
  });
  try {
    await repo.replaceRootAccessKeys(
      {
        accessKeyId: root.accessKeyId,
        secret: root.accessKeySecret,
        accountId: ROOT_ACCOUNT_ID,
        status: 'Active',
      },
      'root',
    );
  } catch (error) {
    // e.g. the configured key is another account's: stop the writer thread, or the process stays.
    await repo.close();
    throw error;
  }

  const engine = new BlockStore({
    dataDir: config.dataDir,
    log: (event, message) => log.warn(event, message),
  });
  await engine.open();
  const regions = new RegionCatalog(config.regions);
  const jobs = new JobRunner(
    repo,
    jobHandlers(repo, engine, faults),
    jobGiveUp(repo, engine),
    {
      concurrency: config.jobConcurrency,
      pollMs: 1000,
      leaseMs: 60_000,
      maxAttempts: 5,
      retryDelayMs: 1000,
      waitDelayMs: 100,
    },
    (event, message) => log.warn(event, message),
  );
  const waker = { wake: () => jobs.wake() };

  // Access keys are read on every request: the ones found are cached. Whatever deletes or changes
  // a key calls `forget`; a lookup that was under way meanwhile does not cache what it read, as it
  // may have read the key just before the change.
  const keyCache = new Map<string, AccessKey>();
  let keyChanges = 0;
  const keys = {
    async find(id: string) {
      let key = keyCache.get(id);
      if (key === undefined) {
        const changesBefore = keyChanges;
        key = await repo.findAccessKey(id);
        if (key !== undefined && changesBefore === keyChanges) keyCache.set(id, key);
      }
      return key;
    },
    forget(ids: readonly string[]) {
      keyChanges++;
      for (const id of ids) keyCache.delete(id);
    },
  };

  const dispatcher = new RpcDispatcher(
    new Authenticator(keys, new NonceCache(TIMESTAMP_WINDOW_MS, NONCE_CACHE_ENTRIES), TIMESTAMP_WINDOW_MS),
    new Authorizer(repo),
    {
      profile: config.profile,
      regions,
      disks: new DiskService(repo, engine, regions, waker, config.diskPricePerGibMonth),
      snapshots: new SnapshotService(
        repo,
        engine,
        regions,
        waker,
        config.profile,
        config.snapshotPolicy,
        (accountId) => faults.snapshotFailurePending(accountId),
      ),
      diskData: new DiskDataService(repo, engine, ROOT_ACCOUNT_ID, (error, resource) =>
        log.error({ err: error, resource }, 'stored data is damaged: run `ensnap verify`'),
      ),
      accounts: new AccountService(repo, ROOT_ACCOUNT_ID, (ids) => keys.forget(ids)),
      billing: new BillingService(repo, ROOT_ACCOUNT_ID),
      iam: new IamService(repo, (ids) => keys.forget(ids)),
      faults,
    },
    (error, requestId) => log.error({ err: error, requestId }, 'unexpected error'),
    config.bodyLimitBytes,
  );
  const metrics = new Metrics(repo, () => faults.activeCount);
  const http = createHttpServer({
    dispatcher,
    metrics,
    log,
    bodyLimitBytes: config.bodyLimitBytes,
    dataBodyLimitBytes: DATA_MAX_BYTES,
  });

  let closed: Promise<void> | undefined;
  return {
    http,
    root,
    faults,
    log,
    async listen() {
      if (config.jobs) await jobs.start();
      const address = await http.listen({ host: config.host, port: config.port });
      return address;
    },
    close() {
      closed ??= (async () => {
        await http.close();
        await jobs.stop();
        await engine.close();
        await repo.close();
      })();
      return closed;
    },
  };
}

/** The rules file's rules, each checked as AddFaultRule checks it; a bad one stops the start. */
function loadFaultRules(faults: FaultService, file: string): void {
  const rules = readFaultRulesFile(file);
  rules.forEach((rule, i) => {
    try {
      faults.load(rule);
    } catch (error) {
      if (!(error instanceof ApiError)) throw error;
      throw new ConfigError(`ENSNAP_FAULTS_FILE ${file}: rule ${i + 1}: ${error.code}: ${error.message}`);
    }
  });
}
