import { defineOperation } from '../spec.js';
import { ENSNAP_VERSION } from './version.js';

export default defineOperation({
  version: ENSNAP_VERSION,
  action: 'VerifyStorage',
  ramAction: 'ensnap:VerifyStorage',
  accessLevel: 'read',
  params: {},
  coverage: { status: 'complete' },
  async handle(ctx) {
    const report = await ctx.diskData.verify(ctx.caller);
    return {
      Chunks: report.chunks,
      Bytes: report.bytes,
      Snapshots: report.snapshots,
      Problems: report.problems.map((p) => ({ What: p.what, SnapshotIds: p.snapshots })),
    };
  },
});
