// The reference points for bench:api, on node:http, each answering every request with one fixed
// JSON body (by default the size of ensnap's CreateSnapshot answer; api-bench passes the body
// ensnap actually returned) and the same response headers ensnap sends:
// - `bare`: nothing else;
// - `plain`: the "plain handler" the API issue measures its target against: it checks the
//   request's signature V1 (HMAC-SHA1, with ensnap's own string-to-sign code, one known key) and
//   inserts one row into SQLite (WAL, synchronous=NORMAL, autocommit) before answering; 403 on a
//   wrong signature. No decoding of parameters, no nonce, no durability wait, no log.
// usage: node dist/bench/bare-server.js [PORT] [bare | plain]   (env BARE_BODY overrides the body;
// plain: env PLAIN_DB the database file, PLAIN_KEY_ID / PLAIN_KEY_SECRET the access key)
import { timingSafeEqual } from 'node:crypto';
import http from 'node:http';
import Database from 'better-sqlite3';
import { v1Sign, v1StringToSignFromQuery } from '../src/protocol/signature-v1.js';

const body =
  process.env.BARE_BODY ??
  JSON.stringify({
    RequestId: '5D3F0E6A-2C1B-4E8F-9A7D-1B2C3D4E5F60',
    SnapShotId: 's-0123456789abcdefghij',
    OrderId: '176441234567800',
  });
const requestId = (JSON.parse(body) as { RequestId?: string }).RequestId ?? '';
const headers = {
  'content-type': 'application/json;charset=utf-8',
  'x-acs-request-id': requestId,
  'content-length': String(Buffer.byteLength(body)),
};
const mode = process.argv[3] ?? 'bare';
if (mode !== 'bare' && mode !== 'plain') throw new Error(`mode must be bare or plain, not "${mode}"`);

/** plain: whether the request's signature is right, and then its row is written. */
function plainHandler(): (url: string) => boolean {
  const keyId = process.env.PLAIN_KEY_ID ?? '';
  const secret = process.env.PLAIN_KEY_SECRET ?? '';
  const db = new Database(process.env.PLAIN_DB ?? ':memory:');
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.exec('CREATE TABLE IF NOT EXISTS requests (id INTEGER PRIMARY KEY, ts INTEGER, key_id TEXT, sig TEXT)');
  const insert = db.prepare('INSERT INTO requests (ts, key_id, sig) VALUES (?, ?, ?)');
  return (url) => {
    const query = url.slice(url.indexOf('?') + 1);
    const at = query.indexOf('Signature=');
    if (at < 0) return false;
    const end = query.indexOf('&', at);
    const given = Buffer.from(decodeURIComponent(query.slice(at + 10, end < 0 ? undefined : end)));
    const stringToSign = v1StringToSignFromQuery('GET', query);
    if (stringToSign === undefined) return false;
    const wanted = Buffer.from(v1Sign(stringToSign, secret));
    if (given.length !== wanted.length || !timingSafeEqual(given, wanted)) return false;
    insert.run(Date.now(), keyId, wanted.toString());
    return true;
  };
}

const signedAndStored = mode === 'plain' ? plainHandler() : () => true;
const server = http.createServer((req, res) => {
  if (!signedAndStored(req.url ?? '/')) {
    res.writeHead(403).end();
    return;
  }
  res.writeHead(200, headers);
  res.end(body);
});
server.listen(Number(process.argv[2] ?? 0), '127.0.0.1', () => {
  const address = server.address() as { port: number };
  process.stdout.write(
    `${mode} server listening on http://127.0.0.1:${address.port} (${body.length} B body)\n`,
  );
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
