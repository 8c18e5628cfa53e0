import { defineOperation } from '../spec.js';
import { ENSNAP_VERSION } from './version.js';

export default defineOperation({
  version: ENSNAP_VERSION,
  action: 'ClearFaultRules',
  ramAction: 'ensnap:ClearFaultRules',
  accessLevel: 'delete',
  params: {},
  coverage: { status: 'complete' },
  async handle(ctx) {
    return { ClearedCount: ctx.faults.clear(ctx.caller) };
  },
});
