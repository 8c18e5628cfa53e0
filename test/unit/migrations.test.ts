import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { SqliteRepository } from '../../src/storage/sqlite/sqlite-repository.js';
import { MIGRATIONS } from '../../src/storage/sqlite/migrations.js';

const SECRET_KEY = randomBytes(32);

describe('schema migrations', () => {
  it('a clean install and a re-run both work; a newer database is refused', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'ensnap-migrate-'));
    try {
      const file = path.join(dir, 'ensnap.db');
      new SqliteRepository(file, { secretKey: SECRET_KEY }).close();
      new SqliteRepository(file, { secretKey: SECRET_KEY }).close();
      const db = new Database(file);
      const versions = (
        db.prepare('SELECT version FROM schema_migrations ORDER BY version').all() as { version: number }[]
      ).map((r) => r.version);
      assert.deepEqual(
        versions,
        MIGRATIONS.map((m) => m.version),
      );
      db.prepare('INSERT INTO schema_migrations (version, name, applied_ms) VALUES (?, ?, ?)').run(
        999,
        'future',
        0,
      );
      db.close();
      assert.throws(
        () => new SqliteRepository(file, { secretKey: SECRET_KEY }),
        /schema version 999, newer than this ensnap knows/,
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
