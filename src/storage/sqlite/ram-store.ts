// RAM's part of the SQLite store: the statements and the write operations for users, groups,
// custom policies, attachments and access keys. Each write runs inside a batch's transaction
// (sqlite-store.ts), checks its conditions there and changes the account's iam_generation, so a
// cache of what a user may do learns of every change. Secrets arrive sealed (secret-box.ts).
import type Database from 'better-sqlite3';
import type { Statement } from 'better-sqlite3';
import type {
  AccessKeyStatus,
  CustomPolicy,
  PolicyRef,
  PolicyVersion,
  RamGroup,
  RamUser,
} from '../../domain/iam/model.js';
import type {
  AttachOutcome,
  CreateAccessKeyOutcome,
  CreatePolicyVersionOutcome,
  DeleteGroupOutcome,
  DeletePolicyOutcome,
  DeleteUserOutcome,
  DetachOutcome,
  KeyChangeOutcome,
  MembershipOutcome,
  PolicyHolder,
  SetDefaultVersionOutcome,
  UpdateUserOutcome,
  UserChange,
} from '../../domain/ports.js';
import { SEALED } from '../secret-box.js';
import { fromRow, type Row } from './rows.js';
import type { Store } from './sqlite-store.js';

/** An access key row as written: the secret sealed; no user name for a root key. */
export interface StoredAccessKey {
  accessKeyId: string;
  accountId: string;
  userName: string | null;
  status: AccessKeyStatus;
  sealedSecret: string;
  createdMs: number;
}

const count = (stmt: Statement, ...args: unknown[]): number => (stmt.get(...args) as { n: number }).n;

function bumpGeneration(s: Store, accountId: string): void {
  s.ram.bumpGeneration.run(accountId);
}

function holderExists(s: Store, accountId: string, holder: PolicyHolder): boolean {
  return s.ram.holders[holder.kind].exists.get(accountId, holder.name) !== undefined;
}

export const RAM_WRITES = {
  // --- access keys ---

  upsertAccessKey(s: Store, key: StoredAccessKey, accountName: string): void {
    s.stmt.upsertAccount.run(key.accountId, accountName, key.createdMs);
    s.ram.upsertAccessKey.run(
      key.accessKeyId,
      key.accountId,
      key.sealedSecret,
      SEALED,
      key.status,
      key.userName,
      key.createdMs,
    );
    bumpGeneration(s, key.accountId);
  },

  /** Seals rows written before secrets were sealed (migration 3); each row is re-checked here. */
  sealSecrets(s: Store, sealed: { accessKeyId: string; sealedSecret: string }[]): void {
    for (const row of sealed) s.ram.sealSecret.run(row.sealedSecret, SEALED, row.accessKeyId);
  },

  createAccessKey(s: Store, key: StoredAccessKey, maxPerOwner: number): CreateAccessKeyOutcome {
    if (key.userName !== null && !s.ram.getUser.get(key.accountId, key.userName)) return 'user-not-found';
    if (count(s.ram.countKeys, key.accountId, key.userName) >= maxPerOwner) return 'limit-exceeded';
    s.ram.insertAccessKey.run(
      key.accessKeyId,
      key.accountId,
      key.sealedSecret,
      SEALED,
      key.status,
      key.userName,
      key.createdMs,
    );
    bumpGeneration(s, key.accountId);
    return 'ok';
  },

  setAccessKeyStatus(
    s: Store,
    accountId: string,
    userName: string | null,
    accessKeyId: string,
    status: AccessKeyStatus,
  ): KeyChangeOutcome {
    if (userName !== null && !s.ram.getUser.get(accountId, userName)) return 'user-not-found';
    if (s.ram.setKeyStatus.run(status, accountId, accessKeyId, userName).changes === 0)
      return 'key-not-found';
    bumpGeneration(s, accountId);
    return 'ok';
  },

  deleteAccessKey(
    s: Store,
    accountId: string,
    userName: string | null,
    accessKeyId: string,
  ): KeyChangeOutcome {
    if (userName !== null && !s.ram.getUser.get(accountId, userName)) return 'user-not-found';
    if (s.ram.deleteKey.run(accountId, accessKeyId, userName).changes === 0) return 'key-not-found';
    bumpGeneration(s, accountId);
    return 'ok';
  },

  // --- users ---

  createUser(s: Store, user: RamUser): 'ok' | 'exists' {
    if (s.ram.getUser.get(user.accountId, user.userName)) return 'exists';
    s.ram.insertUser.run(
      user.accountId,
      user.userName,
      user.userId,
      user.displayName,
      user.mobilePhone,
      user.email,
      user.comments,
      user.createdMs,
      user.updatedMs,
    );
    bumpGeneration(s, user.accountId);
    return 'ok';
  },

  updateUser(
    s: Store,
    accountId: string,
    userName: string,
    change: UserChange,
    nowMs: number,
  ): UpdateUserOutcome {
    const row = s.ram.getUser.get(accountId, userName) as Row | undefined;
    if (!row) return 'not-found';
    const user = toUser(row);
    const updated: RamUser = {
      ...user,
      userName: change.userName ?? user.userName,
      displayName: change.displayName ?? user.displayName,
      mobilePhone: change.mobilePhone ?? user.mobilePhone,
      email: change.email ?? user.email,
      comments: change.comments ?? user.comments,
      updatedMs: nowMs,
    };
    if (updated.userName !== userName) {
      if (s.ram.getUser.get(accountId, updated.userName)) return 'name-taken';
      // Memberships and attachments follow by ON UPDATE CASCADE; keys name their user here.
      s.ram.renameKeyOwner.run(updated.userName, accountId, userName);
    }
    s.ram.updateUser.run(
      updated.userName,
      updated.displayName,
      updated.mobilePhone,
      updated.email,
      updated.comments,
      updated.updatedMs,
      accountId,
      userName,
    );
    bumpGeneration(s, accountId);
    return updated;
  },

  /** Refused while the user has keys, policies or groups: nothing of it may be left behind. */
  deleteUser(s: Store, accountId: string, userName: string): DeleteUserOutcome {
    if (!s.ram.getUser.get(accountId, userName)) return 'not-found';
    if (count(s.ram.countKeys, accountId, userName) > 0) return 'has-access-keys';
    if (count(s.ram.holders.user.countAll, accountId, userName) > 0) return 'has-policies';
    if (count(s.ram.countUserGroups, accountId, userName) > 0) return 'in-groups';
    s.ram.deleteUser.run(accountId, userName);
    bumpGeneration(s, accountId);
    return 'ok';
  },

  // --- groups ---

  createGroup(s: Store, group: RamGroup): 'ok' | 'exists' {
    if (s.ram.getGroup.get(group.accountId, group.groupName)) return 'exists';
    s.ram.insertGroup.run(
      group.accountId,
      group.groupName,
      group.groupId,
      group.comments,
      group.createdMs,
      group.updatedMs,
    );
    bumpGeneration(s, group.accountId);
    return 'ok';
  },

  deleteGroup(s: Store, accountId: string, groupName: string): DeleteGroupOutcome {
    if (!s.ram.getGroup.get(accountId, groupName)) return 'not-found';
    if (count(s.ram.countGroupMembers, accountId, groupName) > 0) return 'has-users';
    if (count(s.ram.holders.group.countAll, accountId, groupName) > 0) return 'has-policies';
    s.ram.deleteGroup.run(accountId, groupName);
    bumpGeneration(s, accountId);
    return 'ok';
  },

  addUserToGroup(
    s: Store,
    accountId: string,
    groupName: string,
    userName: string,
    nowMs: number,
    maxGroupsPerUser: number,
  ): MembershipOutcome | 'limit-exceeded' {
    if (!s.ram.getUser.get(accountId, userName)) return 'user-not-found';
    if (!s.ram.getGroup.get(accountId, groupName)) return 'group-not-found';
    if (s.ram.getMember.get(accountId, groupName, userName)) return 'already-member';
    if (count(s.ram.countUserGroups, accountId, userName) >= maxGroupsPerUser) return 'limit-exceeded';
    s.ram.insertMember.run(accountId, groupName, userName, nowMs);
    bumpGeneration(s, accountId);
    return 'ok';
  },

  removeUserFromGroup(s: Store, accountId: string, groupName: string, userName: string): MembershipOutcome {
    if (!s.ram.getUser.get(accountId, userName)) return 'user-not-found';
    if (!s.ram.getGroup.get(accountId, groupName)) return 'group-not-found';
    if (s.ram.deleteMember.run(accountId, groupName, userName).changes === 0) return 'not-member';
    bumpGeneration(s, accountId);
    return 'ok';
  },

  // --- custom policies ---

  createPolicy(s: Store, policy: CustomPolicy, document: string): 'ok' | 'exists' {
    if (s.ram.getPolicy.get(policy.accountId, policy.policyName)) return 'exists';
    s.ram.insertPolicy.run(
      policy.accountId,
      policy.policyName,
      policy.description,
      policy.defaultVersion,
      policy.createdMs,
      policy.updatedMs,
    );
    s.ram.insertVersion.run(
      policy.accountId,
      policy.policyName,
      policy.defaultVersion,
      document,
      policy.createdMs,
    );
    bumpGeneration(s, policy.accountId);
    return 'ok';
  },

  /**
   * A new version numbered after the newest. At `maxVersions` the oldest version that is not the
   * default makes room when `rotate` says so; otherwise the limit refuses.
   */
  createPolicyVersion(
    s: Store,
    accountId: string,
    policyName: string,
    document: string,
    options: { setAsDefault: boolean; rotate: boolean; maxVersions: number; nowMs: number },
  ): CreatePolicyVersionOutcome {
    const policy = s.ram.getPolicy.get(accountId, policyName) as Row | undefined;
    if (!policy) return 'not-found';
    if (count(s.ram.countVersions, accountId, policyName) >= options.maxVersions) {
      if (!options.rotate) return 'limit-exceeded';
      const oldest = s.ram.oldestNonDefaultVersion.get(accountId, policyName, policy.default_version) as Row;
      s.ram.deleteVersion.run(accountId, policyName, oldest.version);
    }
    const version = (s.ram.newestVersion.get(accountId, policyName) as { n: number }).n + 1;
    s.ram.insertVersion.run(accountId, policyName, version, document, options.nowMs);
    if (options.setAsDefault) s.ram.setDefaultVersion.run(version, options.nowMs, accountId, policyName);
    bumpGeneration(s, accountId);
    return { version, document, createdMs: options.nowMs, isDefault: options.setAsDefault };
  },

  setDefaultPolicyVersion(
    s: Store,
    accountId: string,
    policyName: string,
    version: number,
    nowMs: number,
  ): SetDefaultVersionOutcome {
    if (!s.ram.getPolicy.get(accountId, policyName)) return 'policy-not-found';
    if (!s.ram.getVersion.get(accountId, policyName, version)) return 'version-not-found';
    s.ram.setDefaultVersion.run(version, nowMs, accountId, policyName);
    bumpGeneration(s, accountId);
    return 'ok';
  },

  /** Refused while attached, unless `cascade`: then it is detached from everyone first. */
  deletePolicy(s: Store, accountId: string, policyName: string, cascade: boolean): DeletePolicyOutcome {
    if (!s.ram.getPolicy.get(accountId, policyName)) return 'not-found';
    const { user, group } = s.ram.holders;
    if (cascade) {
      user.detachEverywhere.run(accountId, 'Custom', policyName);
      group.detachEverywhere.run(accountId, 'Custom', policyName);
    } else {
      if (count(user.countHolders, accountId, 'Custom', policyName) > 0) return 'attached-to-users';
      if (count(group.countHolders, accountId, 'Custom', policyName) > 0) return 'attached-to-groups';
    }
    // Its versions go with it (ON DELETE CASCADE).
    s.ram.deletePolicy.run(accountId, policyName);
    bumpGeneration(s, accountId);
    return 'ok';
  },

  // --- attachments ---

  attachPolicy(
    s: Store,
    accountId: string,
    holder: PolicyHolder,
    policy: PolicyRef,
    nowMs: number,
    maxPerType: number,
  ): AttachOutcome {
    const h = s.ram.holders[holder.kind];
    if (!holderExists(s, accountId, holder)) return 'holder-not-found';
    if (policy.type === 'Custom' && !s.ram.getPolicy.get(accountId, policy.name)) return 'policy-not-found';
    if (h.get.get(accountId, holder.name, policy.type, policy.name)) return 'already-attached';
    if (count(h.countOfType, accountId, holder.name, policy.type) >= maxPerType) return 'limit-exceeded';
    h.insert.run(accountId, holder.name, policy.type, policy.name, nowMs);
    bumpGeneration(s, accountId);
    return 'ok';
  },

  detachPolicy(s: Store, accountId: string, holder: PolicyHolder, policy: PolicyRef): DetachOutcome {
    if (!holderExists(s, accountId, holder)) return 'holder-not-found';
    if (policy.type === 'Custom' && !s.ram.getPolicy.get(accountId, policy.name)) return 'policy-not-found';
    const h = s.ram.holders[holder.kind];
    if (h.delete.run(accountId, holder.name, policy.type, policy.name).changes === 0) return 'not-attached';
    bumpGeneration(s, accountId);
    return 'ok';
  },
};

/** The statements of policy attachments to one kind of holder (users or groups). */
function holderStatements(p: (sql: string) => Statement, table: string, column: string, parent: string) {
  return {
    exists: p(`SELECT 1 FROM ${parent} WHERE account_id = ? AND ${column} = ?`),
    get: p(
      `SELECT 1 FROM ${table} WHERE account_id = ? AND ${column} = ? AND policy_type = ? AND policy_name = ?`,
    ),
    insert: p(
      `INSERT INTO ${table} (account_id, ${column}, policy_type, policy_name, attached_ms) VALUES (?, ?, ?, ?, ?)`,
    ),
    delete: p(
      `DELETE FROM ${table} WHERE account_id = ? AND ${column} = ? AND policy_type = ? AND policy_name = ?`,
    ),
    countAll: p(`SELECT COUNT(*) AS n FROM ${table} WHERE account_id = ? AND ${column} = ?`),
    countOfType: p(
      `SELECT COUNT(*) AS n FROM ${table} WHERE account_id = ? AND ${column} = ? AND policy_type = ?`,
    ),
    countHolders: p(
      `SELECT COUNT(*) AS n FROM ${table} WHERE account_id = ? AND policy_type = ? AND policy_name = ?`,
    ),
    detachEverywhere: p(`DELETE FROM ${table} WHERE account_id = ? AND policy_type = ? AND policy_name = ?`),
    list: p(
      `SELECT policy_type, policy_name, attached_ms FROM ${table} WHERE account_id = ? AND ${column} = ?
       ORDER BY policy_type, policy_name`,
    ),
  };
}

export function prepareRamStatements(db: Database.Database) {
  const p = (sql: string): Statement => db.prepare(sql);
  // `IS NOT DISTINCT FROM`: equal, or both NULL (a root key has no user name); PostgreSQL has it too.
  const ownedKey = 'account_id = ? AND access_key_id = ? AND user_name IS NOT DISTINCT FROM ?';
  return {
    bumpGeneration: p('UPDATE accounts SET iam_generation = iam_generation + 1 WHERE id = ?'),
    getGeneration: p('SELECT iam_generation FROM accounts WHERE id = ?'),

    upsertAccessKey: p(
      `INSERT INTO access_keys (access_key_id, account_id, secret, secret_encoding, status, user_name, created_ms)
       VALUES (?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (access_key_id) DO UPDATE SET account_id = excluded.account_id, secret = excluded.secret,
         secret_encoding = excluded.secret_encoding, status = excluded.status, user_name = excluded.user_name`,
    ),
    insertAccessKey: p(
      `INSERT INTO access_keys (access_key_id, account_id, secret, secret_encoding, status, user_name, created_ms)
       VALUES (?, ?, ?, ?, ?, ?, ?)`,
    ),
    plainSecrets: p("SELECT access_key_id, secret FROM access_keys WHERE secret_encoding = 'plain'"),
    oneSealedSecret: p(
      `SELECT access_key_id, secret FROM access_keys WHERE secret_encoding = '${SEALED}' LIMIT 1`,
    ),
    sealSecret: p(
      "UPDATE access_keys SET secret = ?, secret_encoding = ? WHERE access_key_id = ? AND secret_encoding = 'plain'",
    ),
    countKeys: p(
      'SELECT COUNT(*) AS n FROM access_keys WHERE account_id = ? AND user_name IS NOT DISTINCT FROM ?',
    ),
    listKeys: p(
      `SELECT access_key_id, status, created_ms FROM access_keys
       WHERE account_id = ? AND user_name IS NOT DISTINCT FROM ? ORDER BY created_ms, access_key_id`,
    ),
    setKeyStatus: p(`UPDATE access_keys SET status = ? WHERE ${ownedKey}`),
    deleteKey: p(`DELETE FROM access_keys WHERE ${ownedKey}`),
    renameKeyOwner: p('UPDATE access_keys SET user_name = ? WHERE account_id = ? AND user_name = ?'),

    insertUser: p(
      `INSERT INTO ram_users (account_id, user_name, user_id, display_name, mobile_phone, email, comments,
         created_ms, updated_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    ),
    getUser: p('SELECT * FROM ram_users WHERE account_id = ? AND user_name = ?'),
    listUsers: p('SELECT * FROM ram_users WHERE account_id = ? AND user_name > ? ORDER BY user_name LIMIT ?'),
    updateUser: p(
      `UPDATE ram_users SET user_name = ?, display_name = ?, mobile_phone = ?, email = ?, comments = ?, updated_ms = ?
       WHERE account_id = ? AND user_name = ?`,
    ),
    deleteUser: p('DELETE FROM ram_users WHERE account_id = ? AND user_name = ?'),
    countUserGroups: p('SELECT COUNT(*) AS n FROM ram_group_members WHERE account_id = ? AND user_name = ?'),

    insertGroup: p(
      `INSERT INTO ram_groups (account_id, group_name, group_id, comments, created_ms, updated_ms)
       VALUES (?, ?, ?, ?, ?, ?)`,
    ),
    getGroup: p('SELECT * FROM ram_groups WHERE account_id = ? AND group_name = ?'),
    listGroups: p(
      'SELECT * FROM ram_groups WHERE account_id = ? AND group_name > ? ORDER BY group_name LIMIT ?',
    ),
    deleteGroup: p('DELETE FROM ram_groups WHERE account_id = ? AND group_name = ?'),
    countGroupMembers: p(
      'SELECT COUNT(*) AS n FROM ram_group_members WHERE account_id = ? AND group_name = ?',
    ),
    getMember: p('SELECT 1 FROM ram_group_members WHERE account_id = ? AND group_name = ? AND user_name = ?'),
    insertMember: p(
      'INSERT INTO ram_group_members (account_id, group_name, user_name, joined_ms) VALUES (?, ?, ?, ?)',
    ),
    deleteMember: p(
      'DELETE FROM ram_group_members WHERE account_id = ? AND group_name = ? AND user_name = ?',
    ),
    groupsOfUser: p(
      `SELECT g.*, m.joined_ms FROM ram_group_members m
       JOIN ram_groups g ON g.account_id = m.account_id AND g.group_name = m.group_name
       WHERE m.account_id = ? AND m.user_name = ? ORDER BY g.group_name`,
    ),

    insertPolicy: p(
      `INSERT INTO ram_policies (account_id, policy_name, description, default_version, created_ms, updated_ms)
       VALUES (?, ?, ?, ?, ?, ?)`,
    ),
    getPolicy: p('SELECT * FROM ram_policies WHERE account_id = ? AND policy_name = ?'),
    listPolicies: p(
      'SELECT * FROM ram_policies WHERE account_id = ? AND policy_name > ? ORDER BY policy_name LIMIT ?',
    ),
    deletePolicy: p('DELETE FROM ram_policies WHERE account_id = ? AND policy_name = ?'),
    setDefaultVersion: p(
      'UPDATE ram_policies SET default_version = ?, updated_ms = ? WHERE account_id = ? AND policy_name = ?',
    ),
    insertVersion: p(
      `INSERT INTO ram_policy_versions (account_id, policy_name, version, document, created_ms)
       VALUES (?, ?, ?, ?, ?)`,
    ),
    getVersion: p(
      'SELECT 1 FROM ram_policy_versions WHERE account_id = ? AND policy_name = ? AND version = ?',
    ),
    listVersions: p(
      `SELECT version, document, created_ms FROM ram_policy_versions
       WHERE account_id = ? AND policy_name = ? ORDER BY version`,
    ),
    countVersions: p(
      'SELECT COUNT(*) AS n FROM ram_policy_versions WHERE account_id = ? AND policy_name = ?',
    ),
    newestVersion: p(
      'SELECT COALESCE(MAX(version), 0) AS n FROM ram_policy_versions WHERE account_id = ? AND policy_name = ?',
    ),
    oldestNonDefaultVersion: p(
      `SELECT version FROM ram_policy_versions WHERE account_id = ? AND policy_name = ? AND version <> ?
       ORDER BY version LIMIT 1`,
    ),
    deleteVersion: p(
      'DELETE FROM ram_policy_versions WHERE account_id = ? AND policy_name = ? AND version = ?',
    ),

    holders: {
      user: holderStatements(p, 'ram_user_policies', 'user_name', 'ram_users'),
      group: holderStatements(p, 'ram_group_policies', 'group_name', 'ram_groups'),
    },
    usersOfPolicy: p(
      `SELECT u.user_name, u.user_id, u.display_name, a.attached_ms FROM ram_user_policies a
       JOIN ram_users u ON u.account_id = a.account_id AND u.user_name = a.user_name
       WHERE a.account_id = ? AND a.policy_type = ? AND a.policy_name = ? ORDER BY u.user_name`,
    ),
    groupsOfPolicy: p(
      `SELECT g.group_name, g.comments, a.attached_ms FROM ram_group_policies a
       JOIN ram_groups g ON g.account_id = a.account_id AND g.group_name = a.group_name
       WHERE a.account_id = ? AND a.policy_type = ? AND a.policy_name = ? ORDER BY g.group_name`,
    ),
    // Every policy of a user, attached directly or through its groups, with the default version's
    // document of the custom ones.
    policiesForUser: p(
      `SELECT a.policy_type, a.policy_name, v.document FROM (
         SELECT policy_type, policy_name FROM ram_user_policies WHERE account_id = ? AND user_name = ?
         UNION
         SELECT gp.policy_type, gp.policy_name FROM ram_group_members m
         JOIN ram_group_policies gp ON gp.account_id = m.account_id AND gp.group_name = m.group_name
         WHERE m.account_id = ? AND m.user_name = ?
       ) a
       LEFT JOIN ram_policies p ON a.policy_type = 'Custom' AND p.account_id = ? AND p.policy_name = a.policy_name
       LEFT JOIN ram_policy_versions v
         ON v.account_id = p.account_id AND v.policy_name = p.policy_name AND v.version = p.default_version
       ORDER BY a.policy_type, a.policy_name`,
    ),
  };
}

// Rows whose columns are the record's fields.
export const toUser = (row: Row): RamUser => fromRow<RamUser>(row);
export const toGroup = (row: Row): RamGroup => fromRow<RamGroup>(row);
export const toPolicy = (row: Row): CustomPolicy => fromRow<CustomPolicy>(row);

export const toVersion = (row: Row, defaultVersion: number): PolicyVersion => ({
  version: row.version as number,
  document: row.document as string,
  createdMs: row.created_ms as number,
  isDefault: row.version === defaultVersion,
});
