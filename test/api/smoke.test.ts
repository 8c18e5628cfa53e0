import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startEnsnap, type Running } from '../helpers/ensnap.js';
import { allClients } from '../helpers/sdk.js';

describe('every SDK client and signature mode reaches the service', () => {
  let server: Running;
  before(async () => {
    server = await startEnsnap();
  });
  after(() => server.stop());

  for (const mode of ['query', 'body'] as const) {
    it(`DescribeEnsRegions with parameters in the ${mode}`, async () => {
      for (const client of allClients(server)) {
        const r = await client.call(
          'DescribeEnsRegions',
          { EnsRegionId: 'cn-beijing-15' },
          { body: mode === 'body' },
        );
        assert.equal(r.Code, 0, client.name);
        assert.deepEqual(
          (r.EnsRegions as { EnsRegions: { EnsRegionId: string }[] }).EnsRegions.map((x) => x.EnsRegionId),
          ['cn-beijing-15'],
          client.name,
        );
        assert.match(String(r.RequestId), /^[0-9A-F]{8}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{12}$/);
      }
    });
  }
});
