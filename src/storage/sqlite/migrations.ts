// Versioned schema migrations, applied in order, each in its own transaction, recorded in
// schema_migrations. Append only: never edit a migration that has shipped. The SQL is kept to what
// PostgreSQL also accepts (TEXT, INTEGER/BIGINT, no SQLite-only types), so a second dialect can
// reuse the same schema.

import type { Migration } from './migrate.js';

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'initial',
    sql: `
CREATE TABLE accounts (
  id          TEXT PRIMARY KEY,
  name        TEXT NOT NULL,
  created_ms  BIGINT NOT NULL
);

CREATE TABLE access_keys (
  access_key_id TEXT PRIMARY KEY,
  account_id    TEXT NOT NULL REFERENCES accounts(id),
  secret        TEXT NOT NULL,
  status        TEXT NOT NULL,
  created_ms    BIGINT NOT NULL
);

CREATE TABLE disks (
  id           TEXT PRIMARY KEY,
  account_id   TEXT NOT NULL REFERENCES accounts(id),
  region_id    TEXT NOT NULL,
  name         TEXT NOT NULL,
  description  TEXT NOT NULL,
  category     TEXT NOT NULL,
  size_mib     BIGINT NOT NULL,
  status       TEXT NOT NULL,
  type         TEXT NOT NULL,
  charge_type  TEXT NOT NULL,
  encrypted    INTEGER NOT NULL,
  kms_key_id   TEXT NOT NULL,
  snapshot_id  TEXT NOT NULL,
  created_ms   BIGINT NOT NULL
);
CREATE INDEX disks_by_account ON disks (account_id, created_ms);

CREATE TABLE disk_tags (
  disk_id  TEXT NOT NULL REFERENCES disks(id) ON DELETE CASCADE,
  position INTEGER NOT NULL,
  tag_key  TEXT NOT NULL,
  value    TEXT NOT NULL,
  PRIMARY KEY (disk_id, tag_key)
);

CREATE TABLE snapshots (
  id                 TEXT PRIMARY KEY,
  account_id         TEXT NOT NULL REFERENCES accounts(id),
  region_id          TEXT NOT NULL,
  disk_id            TEXT NOT NULL,
  disk_category      TEXT NOT NULL,
  disk_type          TEXT NOT NULL,
  size_mib           BIGINT NOT NULL,
  name               TEXT NOT NULL,
  description        TEXT NOT NULL,
  status             TEXT NOT NULL,
  progress           INTEGER NOT NULL,
  source_region_id   TEXT NOT NULL,
  source_snapshot_id TEXT NOT NULL,
  order_id           TEXT NOT NULL,
  last_error         TEXT NOT NULL,
  created_ms         BIGINT NOT NULL
);
CREATE INDEX snapshots_by_account ON snapshots (account_id, created_ms);
CREATE INDEX snapshots_by_disk ON snapshots (disk_id, status);

CREATE TABLE orders (
  id          TEXT PRIMARY KEY,
  account_id  TEXT NOT NULL REFERENCES accounts(id),
  product     TEXT NOT NULL,
  action      TEXT NOT NULL,
  resource_id TEXT NOT NULL,
  region_id   TEXT NOT NULL,
  state       TEXT NOT NULL,
  created_ms  BIGINT NOT NULL
);
CREATE INDEX orders_by_account ON orders (account_id, created_ms);

CREATE TABLE jobs (
  id             INTEGER PRIMARY KEY AUTOINCREMENT,
  kind           TEXT NOT NULL,
  account_id     TEXT NOT NULL,
  resource_id    TEXT NOT NULL,
  state          TEXT NOT NULL,
  attempts       INTEGER NOT NULL,
  last_error     TEXT NOT NULL,
  run_after_ms   BIGINT NOT NULL,
  lease_until_ms BIGINT NOT NULL,
  created_ms     BIGINT NOT NULL,
  updated_ms     BIGINT NOT NULL
);
CREATE INDEX jobs_runnable ON jobs (state, run_after_ms, id);
`,
  },
  {
    version: 2,
    name: 'ram',
    // RAM users, groups and custom policies of each account. Users and groups are known by name
    // within their account (the API names them so); memberships and attachments follow a renamed
    // user (ON UPDATE CASCADE). A policy attachment names System or Custom policies alike, so it
    // has no foreign key to ram_policies: deleting a policy removes its attachments itself.
    // iam_generation changes with every RAM write of the account, so a cache of what users may do
    // knows when to forget.
    sql: `
ALTER TABLE accounts ADD COLUMN iam_generation BIGINT NOT NULL DEFAULT 0;

-- NULL: a root key of the account.
ALTER TABLE access_keys ADD COLUMN user_name TEXT;
CREATE INDEX access_keys_by_owner ON access_keys (account_id, user_name);

CREATE TABLE ram_users (
  account_id   TEXT NOT NULL REFERENCES accounts(id),
  user_name    TEXT NOT NULL,
  user_id      TEXT NOT NULL UNIQUE,
  display_name TEXT NOT NULL,
  mobile_phone TEXT NOT NULL,
  email        TEXT NOT NULL,
  comments     TEXT NOT NULL,
  created_ms   BIGINT NOT NULL,
  updated_ms   BIGINT NOT NULL,
  PRIMARY KEY (account_id, user_name)
);

CREATE TABLE ram_groups (
  account_id TEXT NOT NULL REFERENCES accounts(id),
  group_name TEXT NOT NULL,
  group_id   TEXT NOT NULL UNIQUE,
  comments   TEXT NOT NULL,
  created_ms BIGINT NOT NULL,
  updated_ms BIGINT NOT NULL,
  PRIMARY KEY (account_id, group_name)
);

CREATE TABLE ram_group_members (
  account_id TEXT NOT NULL,
  group_name TEXT NOT NULL,
  user_name  TEXT NOT NULL,
  joined_ms  BIGINT NOT NULL,
  PRIMARY KEY (account_id, group_name, user_name),
  FOREIGN KEY (account_id, group_name) REFERENCES ram_groups (account_id, group_name),
  FOREIGN KEY (account_id, user_name) REFERENCES ram_users (account_id, user_name) ON UPDATE CASCADE
);
CREATE INDEX ram_group_members_by_user ON ram_group_members (account_id, user_name);

CREATE TABLE ram_policies (
  account_id      TEXT NOT NULL REFERENCES accounts(id),
  policy_name     TEXT NOT NULL,
  description     TEXT NOT NULL,
  default_version INTEGER NOT NULL,
  created_ms      BIGINT NOT NULL,
  updated_ms      BIGINT NOT NULL,
  PRIMARY KEY (account_id, policy_name)
);

-- version 1 is VersionId v1, and so on.
CREATE TABLE ram_policy_versions (
  account_id  TEXT NOT NULL,
  policy_name TEXT NOT NULL,
  version     INTEGER NOT NULL,
  document    TEXT NOT NULL,
  created_ms  BIGINT NOT NULL,
  PRIMARY KEY (account_id, policy_name, version),
  FOREIGN KEY (account_id, policy_name) REFERENCES ram_policies (account_id, policy_name) ON DELETE CASCADE
);

CREATE TABLE ram_user_policies (
  account_id  TEXT NOT NULL,
  user_name   TEXT NOT NULL,
  policy_type TEXT NOT NULL,
  policy_name TEXT NOT NULL,
  attached_ms BIGINT NOT NULL,
  PRIMARY KEY (account_id, user_name, policy_type, policy_name),
  FOREIGN KEY (account_id, user_name) REFERENCES ram_users (account_id, user_name) ON UPDATE CASCADE
);
CREATE INDEX ram_user_policies_by_policy ON ram_user_policies (account_id, policy_type, policy_name);

CREATE TABLE ram_group_policies (
  account_id  TEXT NOT NULL,
  group_name  TEXT NOT NULL,
  policy_type TEXT NOT NULL,
  policy_name TEXT NOT NULL,
  attached_ms BIGINT NOT NULL,
  PRIMARY KEY (account_id, group_name, policy_type, policy_name),
  FOREIGN KEY (account_id, group_name) REFERENCES ram_groups (account_id, group_name)
);
CREATE INDEX ram_group_policies_by_policy ON ram_group_policies (account_id, policy_type, policy_name);
`,
  },
  {
    version: 3,
    name: 'sealed-secrets',
    // How each key's secret is stored: 'plain' (rows written before this migration) or
    // 'aes-256-gcm' (sealed by storage/secret-box.ts). The repository seals the plain ones when it
    // opens the database, so they stay plain only until the first start of this version.
    sql: `
ALTER TABLE access_keys ADD COLUMN secret_encoding TEXT NOT NULL DEFAULT 'plain';
`,
  },
  {
    version: 4,
    name: 'accounts',
    sql: `
-- A deleted account keeps its row (its id is never given out again, its orders keep their account).
ALTER TABLE accounts ADD COLUMN deleted_ms BIGINT;

-- An account's root keys (user_name NULL) are listed per account, at most two.
CREATE INDEX access_keys_by_account ON access_keys (account_id, created_ms);
`,
  },
  {
    version: 5,
    name: 'standing-orders-quotas',
    // An account's standing as the operator sets it (amounts in currency units); existing accounts
    // start in good standing. A NULL quota takes the service's configured default. Orders carry
    // their amount (0 for orders written before prices existed).
    sql: `
ALTER TABLE accounts ADD COLUMN balance DOUBLE PRECISION NOT NULL DEFAULT 0;
ALTER TABLE accounts ADD COLUMN overdue DOUBLE PRECISION NOT NULL DEFAULT 0;
ALTER TABLE accounts ADD COLUMN frozen INTEGER NOT NULL DEFAULT 0;
ALTER TABLE accounts ADD COLUMN real_name_verified INTEGER NOT NULL DEFAULT 1;
ALTER TABLE accounts ADD COLUMN snapshots_per_disk INTEGER;
ALTER TABLE accounts ADD COLUMN snapshots_per_account INTEGER;
ALTER TABLE accounts ADD COLUMN snapshot_capacity_gib INTEGER;

ALTER TABLE orders ADD COLUMN amount DOUBLE PRECISION NOT NULL DEFAULT 0;
`,
  },
];
