// `ensnap serve`: starts the service (what `npm start` runs).
import { parseArgs } from 'node:util';
import { loadConfig, SETTINGS } from '../config/config.js';
import { createEnsnap } from '../app.js';

export const SERVE_USAGE = `usage: ensnap serve [options]

Starts the ENS snapshot API on the embedded store (SQLite and files in the data directory).

options (each also an environment variable):
${SETTINGS.map(([flag, env, def, what]) => `  ${(flag + ' VALUE').padEnd(34)} ${env.padEnd(31)} ${what} [${def}]`).join('\n')}
`;

export async function serve(argv: string[]): Promise<void> {
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(SERVE_USAGE);
    return;
  }
  const { values } = parseArgs({
    args: argv,
    options: Object.fromEntries(SETTINGS.map(([flag]) => [flag.slice(2), { type: 'string' as const }])),
    strict: true,
  });
  const config = loadConfig(values as Record<string, string | undefined>);
  const app = await createEnsnap(config);
  const endpoint = await app.listen();
  const root = app.root;
  process.stdout.write(
    [
      `ensnap listening on ${endpoint} (profile ${config.profile}, data in ${config.dataDir})`,
      `root AccessKeyId:     ${root.accessKeyId}`,
      root.generated
        ? `root AccessKeySecret: ${root.accessKeySecret}   (generated now; kept in ${root.file})`
        : `root AccessKeySecret: ${root.file ? `in ${root.file}` : 'from ENSNAP_ROOT_ACCESS_KEY_SECRET'}`,
      config.jobs ? '' : 'background jobs are OFF (ENSNAP_JOBS=off): snapshots stay creating',
      app.faults.enabled
        ? `fault injection is on: ${app.faults.activeCount} rule(s) active (seed ${app.faults.seed}; ensnap faults list)`
        : 'fault injection is OFF (ENSNAP_FAULTS=off)',
    ]
      .filter(Boolean)
      .join('\n') + '\n',
  );

  if (process.platform === 'linux' && process.env.MALLOC_ARENA_MAX === undefined)
    app.log.info(
      'MALLOC_ARENA_MAX is not set: glibc gives each thread that allocates its own arena, which keeps what it ' +
        'freed; with 2 (what npm start sets) the server peaks about 25 MiB lower (docs/storage.md, "Memory")',
    );

  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    app.log.info({ signal }, 'stopping: finishing in-flight requests, checkpointing jobs');
    app.close().then(
      () => process.exit(0),
      (error: unknown) => {
        app.log.error({ err: error }, 'error while stopping');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}
