import { DATA_MAX_BYTES } from '../../domain/disk-data.js';
import { BinaryReply, defineOperation, integer, required, resourceNamedBy, string } from '../spec.js';
import { ENSNAP_VERSION, OFFSET_MAX } from './version.js';

export default defineOperation({
  version: ENSNAP_VERSION,
  action: 'ReadDiskData',
  ramAction: 'ensnap:ReadDiskData',
  accessLevel: 'read',
  resource: resourceNamedBy('disk', 'DiskId'),
  params: {
    DiskId: required(string()),
    Offset: required(integer(0, OFFSET_MAX)),
    Length: required(integer(1, DATA_MAX_BYTES)),
  },
  coverage: { status: 'complete' },
  async handle(ctx, input) {
    const data = await ctx.diskData.read(ctx.caller, input.DiskId, input.Offset, input.Length);
    return new BinaryReply(data, () => ctx.diskData.release(data));
  },
});
