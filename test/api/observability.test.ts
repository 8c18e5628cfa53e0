// One JSON log line per request, Prometheus metrics, and the startup banner.
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { after, describe, it } from 'node:test';
import { spawnEnsnap, tempDataDir } from '../helpers/ensnap.js';
import { popCore, sdkError } from '../helpers/sdk.js';

const dataDir = tempDataDir();
after(() => rmSync(dataDir, { recursive: true, force: true }));

describe('observability', () => {
  it('logs one line per request and counts it in /metrics', async () => {
    const server = await spawnEnsnap(dataDir, { ENSNAP_LOG_LEVEL: 'info' });
    try {
      const client = popCore(server);
      const ok = await client.call('DescribeEnsRegions');
      const failed = await sdkError(() =>
        client.call('CreateSnapshot', { EnsRegionId: 'cn-beijing-15', DiskId: 'd-missing' }),
      );
      assert.equal(failed.code, 'DiskIdNotFound');

      const metrics = await (await fetch(`${server.endpoint}/metrics`)).text();
      assert.match(metrics, /ensnap_requests_total\{action="DescribeEnsRegions",code="OK"\} 1/);
      assert.match(metrics, /ensnap_requests_total\{action="CreateSnapshot",code="DiskIdNotFound"\} 1/);
      assert.match(metrics, /ensnap_request_duration_seconds_count\{action="CreateSnapshot"\} 1/);
      assert.match(metrics, /ensnap_jobs\{state="queued"\} 0/);

      await new Promise((r) => setTimeout(r, 100));
      const lines = server
        .output()
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => JSON.parse(l) as Record<string, unknown>)
        .filter((l) => l.msg === 'request');
      const byId = new Map(lines.map((l) => [l.requestId, l]));
      const okLine = byId.get(ok.RequestId);
      assert.ok(okLine, 'a log line carries the RequestId of the answer');
      assert.equal(okLine.action, 'DescribeEnsRegions');
      assert.equal(okLine.caller, server.accessKeyId);
      assert.equal(okLine.code, 'OK');
      assert.equal(typeof okLine.latencyMs, 'number');
      const errLine = byId.get(failed.data.RequestId);
      assert.equal(errLine?.code, 'DiskIdNotFound');
      assert.equal(errLine?.status, 400);
      assert.equal(lines.length, 2, 'exactly one line per API request');
    } finally {
      server.process.kill('SIGTERM');
      assert.equal(await server.exited, 0);
    }
  });

  it('generates root credentials on first start, keeps them private and reuses them', async () => {
    const dir = tempDataDir();
    try {
      const env = { ENSNAP_ROOT_ACCESS_KEY_ID: '', ENSNAP_ROOT_ACCESS_KEY_SECRET: '' };
      const first = await spawnEnsnap(dir, env);
      first.process.kill('SIGTERM');
      await first.exited;
      const banner = first.output();
      const id = /root AccessKeyId:\s+(\S+)/.exec(banner)?.[1];
      const secret = /root AccessKeySecret:\s+(\S+)\s+\(generated now/.exec(banner)?.[1];
      assert.ok(id && secret, banner);
      const { statSync } = await import('node:fs');
      assert.equal(statSync(`${dir}/root-credentials.json`).mode & 0o777, 0o600);

      const second = await spawnEnsnap(dir, env);
      try {
        assert.doesNotMatch(second.output(), /generated now/);
        const r = await popCore({ ...second, accessKeyId: id, accessKeySecret: secret }).call(
          'DescribeEnsRegions',
        );
        assert.equal(r.Code, 0);
      } finally {
        second.process.kill('SIGTERM');
        await second.exited;
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses a bad configuration with a message saying what to fix', async () => {
    await assert.rejects(
      spawnEnsnap(tempDataDir(), { ENSNAP_PROFILE: 'newest' }),
      /ENSNAP_PROFILE\) must be seed or current/,
    );
    await assert.rejects(
      spawnEnsnap(tempDataDir(), { ENSNAP_PORT: 'eighty' }),
      /--port must be a whole number/,
    );
  });
});
