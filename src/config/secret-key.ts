// The key that seals AccessKeySecrets in the database: the operator's (ENSNAP_SECRET_KEY), or one
// generated on first start and kept in the data directory, readable by its owner only. Kept apart
// from the database, so that a copy of ensnap.db alone opens nothing.
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { writePrivateFile } from './private-file.js';

const SECRET_KEY_FILE = 'secret.key';
const KEY_BYTES = 32;

/** 32 bytes written as 64 hex digits or as base64 (standard or URL-safe), else undefined. */
export function parseSecretKey(text: string): Buffer | undefined {
  const value = text.trim();
  if (/^[0-9a-fA-F]{64}$/.test(value)) return Buffer.from(value, 'hex');
  if (!/^[A-Za-z0-9+/_-]{43}=?$/.test(value)) return undefined;
  const key = Buffer.from(value, value.includes('-') || value.includes('_') ? 'base64url' : 'base64');
  return key.length === KEY_BYTES ? key : undefined;
}

/** The configured key, else the one in `secret.key`, else a new one written there. */
export function resolveSecretKey(dataDir: string, configured?: Buffer): Buffer {
  if (configured) return configured;
  const file = path.join(dataDir, SECRET_KEY_FILE);
  try {
    const key = parseSecretKey(readFileSync(file, 'utf8'));
    if (!key) throw new Error(`${file} does not hold a 32-byte key (64 hex digits or base64)`);
    return key;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  const key = randomBytes(KEY_BYTES);
  writePrivateFile(file, key.toString('base64') + '\n');
  return key;
}
