// The API catalog: every (Version, Action) ensnap answers. Adding an operation is one file under
// operations/<product>/ and one line here.
import copySnapshot from './ens/copy-snapshot.js';
import createDisk from './ens/create-disk.js';
import createSnapshot from './ens/create-snapshot.js';
import deleteDisk from './ens/delete-disk.js';
import deleteSnapshot from './ens/delete-snapshot.js';
import describeDisks from './ens/describe-disks.js';
import describeEnsRegions from './ens/describe-ens-regions.js';
import describeSnapshots from './ens/describe-snapshots.js';
import modifySnapshotAttribute from './ens/modify-snapshot-attribute.js';
import resetDisk from './ens/reset-disk.js';
import resizeDisk from './ens/resize-disk.js';
import createAccountAccessKey from './ensnap/create-account-access-key.js';
import createAccount from './ensnap/create-account.js';
import deleteAccountAccessKey from './ensnap/delete-account-access-key.js';
import deleteAccount from './ensnap/delete-account.js';
import describeAccountAccessKeys from './ensnap/describe-account-access-keys.js';
import describeAccounts from './ensnap/describe-accounts.js';
import describeDiskExtents from './ensnap/describe-disk-extents.js';
import describeSnapshotExtents from './ensnap/describe-snapshot-extents.js';
import readDiskData from './ensnap/read-disk-data.js';
import readSnapshotData from './ensnap/read-snapshot-data.js';
import verifyStorage from './ensnap/verify-storage.js';
import writeDiskData from './ensnap/write-disk-data.js';
import type { Operation } from './spec.js';

export const OPERATIONS: readonly Operation[] = [
  describeEnsRegions,
  createDisk,
  describeDisks,
  deleteDisk,
  resizeDisk,
  resetDisk,
  createSnapshot,
  describeSnapshots,
  modifySnapshotAttribute,
  deleteSnapshot,
  copySnapshot,
  // ensnap's data plane (version 2026-11-01)
  writeDiskData,
  readDiskData,
  describeDiskExtents,
  readSnapshotData,
  describeSnapshotExtents,
  verifyStorage,
  // the operator's accounts (version 2026-11-01)
  createAccount,
  describeAccounts,
  deleteAccount,
  describeAccountAccessKeys,
  createAccountAccessKey,
  deleteAccountAccessKey,
] as unknown as readonly Operation[];

const byVersion = new Map<string, Map<string, Operation>>();
for (const op of OPERATIONS) {
  const actions = byVersion.get(op.version) ?? new Map<string, Operation>();
  actions.set(op.action, op);
  byVersion.set(op.version, actions);
}

export function findVersion(version: string): ReadonlyMap<string, Operation> | undefined {
  return byVersion.get(version);
}
