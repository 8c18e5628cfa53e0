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
  // Versions 2 and 3 are the RAM API's (users, policies, groups).
  {
    version: 4,
    name: 'accounts',
    sql: `
-- A deleted account keeps its row (its id is never given out again, its orders keep their account).
ALTER TABLE accounts ADD COLUMN deleted_ms BIGINT;

-- An account's root keys, apart from its RAM users' keys: at most two per account. Until now
-- only the operator's root key was ever written, so every existing key is a root key.
ALTER TABLE access_keys ADD COLUMN root_key INTEGER NOT NULL DEFAULT 0;
UPDATE access_keys SET root_key = 1;
CREATE INDEX access_keys_by_account ON access_keys (account_id, created_ms);
`,
  },
];
