// The reference point for bench:api: a bare node:http server that answers every request with one
// fixed JSON body (by default the size of ensnap's CreateSnapshot answer; api-bench passes the
// body ensnap actually returned) and the same response headers ensnap sends, nothing else.
// usage: node dist/bench/bare-server.js [PORT]   (env BARE_BODY overrides the body)
import http from 'node:http';

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

const server = http.createServer((_req, res) => {
  res.writeHead(200, headers);
  res.end(body);
});
server.listen(Number(process.argv[2] ?? 0), '127.0.0.1', () => {
  const address = server.address() as { port: number };
  process.stdout.write(`bare server listening on http://127.0.0.1:${address.port} (${body.length} B body)\n`);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
