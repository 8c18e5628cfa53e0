import { DATA_MAX_BYTES } from '../../domain/disk-data.js';
import { defineOperation, integer, required, resourceNamedBy, string } from '../spec.js';
import { ENSNAP_VERSION, OFFSET_MAX } from './version.js';

export default defineOperation({
  version: ENSNAP_VERSION,
  action: 'WriteDiskData',
  ramAction: 'ensnap:WriteDiskData',
  accessLevel: 'update',
  resource: resourceNamedBy('disk', 'DiskId'),
  params: {
    DiskId: required(string()),
    Offset: required(integer(0, OFFSET_MAX)),
    // Required for V1 requests (their signature does not cover the body); checked when given.
    ContentSha256: string((v) => /^[0-9a-fA-F]{64}$/.test(v)),
  },
  body: { maxBytes: DATA_MAX_BYTES },
  coverage: { status: 'complete' },
  async handle(ctx, input, body) {
    await ctx.diskData.write(ctx.caller, input.DiskId, input.Offset, body);
    return { DiskId: input.DiskId, Offset: input.Offset, Length: body.length };
  },
});
