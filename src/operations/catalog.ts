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
import addFaultRule from './ensnap/add-fault-rule.js';
import clearFaultRules from './ensnap/clear-fault-rules.js';
import createAccount from './ensnap/create-account.js';
import deleteAccountAccessKey from './ensnap/delete-account-access-key.js';
import deleteAccount from './ensnap/delete-account.js';
import describeAccountAccessKeys from './ensnap/describe-account-access-keys.js';
import describeAccounts from './ensnap/describe-accounts.js';
import describeFaultRules from './ensnap/describe-fault-rules.js';
import describeOrders from './ensnap/describe-orders.js';
import describeDiskExtents from './ensnap/describe-disk-extents.js';
import describeSnapshotExtents from './ensnap/describe-snapshot-extents.js';
import modifyAccountStanding from './ensnap/modify-account-standing.js';
import readDiskData from './ensnap/read-disk-data.js';
import readSnapshotData from './ensnap/read-snapshot-data.js';
import verifyStorage from './ensnap/verify-storage.js';
import writeDiskData from './ensnap/write-disk-data.js';
import addUserToGroup from './ram/add-user-to-group.js';
import attachPolicyToGroup from './ram/attach-policy-to-group.js';
import attachPolicyToUser from './ram/attach-policy-to-user.js';
import createAccessKey from './ram/create-access-key.js';
import createGroup from './ram/create-group.js';
import createPolicy from './ram/create-policy.js';
import createPolicyVersion from './ram/create-policy-version.js';
import createUser from './ram/create-user.js';
import deleteAccessKey from './ram/delete-access-key.js';
import deleteGroup from './ram/delete-group.js';
import deletePolicy from './ram/delete-policy.js';
import deleteUser from './ram/delete-user.js';
import detachPolicyFromGroup from './ram/detach-policy-from-group.js';
import detachPolicyFromUser from './ram/detach-policy-from-user.js';
import getPolicy from './ram/get-policy.js';
import getUser from './ram/get-user.js';
import listAccessKeys from './ram/list-access-keys.js';
import listEntitiesForPolicy from './ram/list-entities-for-policy.js';
import listGroups from './ram/list-groups.js';
import listGroupsForUser from './ram/list-groups-for-user.js';
import listPolicies from './ram/list-policies.js';
import listPoliciesForUser from './ram/list-policies-for-user.js';
import listPolicyVersions from './ram/list-policy-versions.js';
import listUsers from './ram/list-users.js';
import removeUserFromGroup from './ram/remove-user-from-group.js';
import setDefaultPolicyVersion from './ram/set-default-policy-version.js';
import updateAccessKey from './ram/update-access-key.js';
import updateUser from './ram/update-user.js';
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
  modifyAccountStanding,
  describeOrders,
  deleteAccountAccessKey,
  // the operator's fault rules (version 2026-11-01)
  addFaultRule,
  describeFaultRules,
  clearFaultRules,
  // RAM (version 2015-05-01)
  createUser,
  getUser,
  listUsers,
  updateUser,
  deleteUser,
  createAccessKey,
  listAccessKeys,
  updateAccessKey,
  deleteAccessKey,
  createGroup,
  listGroups,
  deleteGroup,
  addUserToGroup,
  removeUserFromGroup,
  listGroupsForUser,
  createPolicy,
  getPolicy,
  listPolicies,
  deletePolicy,
  createPolicyVersion,
  setDefaultPolicyVersion,
  listPolicyVersions,
  attachPolicyToUser,
  detachPolicyFromUser,
  listPoliciesForUser,
  attachPolicyToGroup,
  detachPolicyFromGroup,
  listEntitiesForPolicy,
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
