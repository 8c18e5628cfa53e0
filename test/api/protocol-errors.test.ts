// Protocol errors through the official SDKs, and through hand-signed `fetch` requests where no SDK
// can produce the fault (replays, other HTTP methods, broken Authorization headers, XML): the
// code, the HTTP status, and the envelope (RequestId, HostId, Code, Message; nothing internal).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startEnsnap, type Running } from '../helpers/ensnap.js';
import {
  REGION,
  REQUEST_ID,
  assertErrorBody,
  assertSdkError,
  createDisk,
  pop,
  snapshotIdOf,
} from '../helpers/fixtures.js';
import {
  everyMode,
  newNonce,
  openApi,
  popCore,
  sdkError,
  send,
  signV1,
  signV3,
  utcTimestamp,
  type Client,
  type RawResponse,
} from '../helpers/sdk.js';
import { v1StringToSign } from '../../src/protocol/signature-v1.js';

const MINUTE = 60_000;

/** Whether a client mode signs with V3 (protocol values in headers) or v1 (in parameters). */
const isV3 = (client: Client): boolean => client.name.includes('V3') || client.name.includes('SM3');

/** A mode's call with its clock or nonce overridden, where each scheme carries them. */
function callWith(
  client: Client,
  action: string,
  override: { timestamp?: string; nonce?: string },
): Promise<Record<string, unknown>> {
  if (isV3(client)) {
    const headers: Record<string, string> = {};
    if (override.timestamp !== undefined) headers['x-acs-date'] = override.timestamp;
    if (override.nonce !== undefined) headers['x-acs-signature-nonce'] = override.nonce;
    return client.call(action, {}, { headers });
  }
  return client.call(action, { Timestamp: override.timestamp, SignatureNonce: override.nonce });
}

/**
 * The v1 modes that can carry protocol parameters without repeating them: openapi-client's v2
 * mode keeps them in the query, so its body variant would send them twice.
 */
const protocolModes = (server: Running): Client[] =>
  everyMode(server).filter((c) => !(c.name.startsWith('openapi-client v2') && c.name.endsWith('body')));

function assertJsonError(r: RawResponse, status: number, code: string): Record<string, unknown> {
  assert.equal(r.status, status, r.text);
  assert.equal(r.contentType, 'application/json;charset=utf-8');
  const body = r.json();
  assertErrorBody(body, code);
  return body;
}

describe('authentication errors through every SDK client mode', () => {
  let server: Running;
  before(async () => {
    server = await startEnsnap();
  });
  after(() => server.stop());

  it('a wrong secret: SignatureDoesNotMatch (400), with the server string to sign', async () => {
    for (const mode of everyMode({ ...server, accessKeySecret: 'not-the-secret' })) {
      const e = await sdkError(() => mode.call('DescribeEnsRegions', { EnsRegionId: REGION }));
      assertSdkError(e, 'SignatureDoesNotMatch', 400, mode.name);
      const message = e.data.Message as string;
      const prefix = 'Specified signature is not matched with our calculation. server string to sign is:';
      assert.ok(message.startsWith(prefix), message);
      const stringToSign = message.slice(prefix.length);
      if (mode.name.includes('SM3')) assert.match(stringToSign, /^ACS3-HMAC-SM3\n[0-9a-f]{64}$/, mode.name);
      else if (mode.name.includes('V3'))
        assert.match(stringToSign, /^ACS3-HMAC-SHA256\n[0-9a-f]{64}$/, mode.name);
      else if (mode.name.startsWith('pop-core GET'))
        assert.match(stringToSign, /^GET&%2F&AccessKeyId%3D/, mode.name);
      else assert.match(stringToSign, /^POST&%2F&AccessKeyId%3D/, mode.name);
    }
  });

  it('v1: the string to sign in the message is exactly the canonical one', async () => {
    const params = { Action: 'DescribeEnsRegions', EnsRegionId: REGION, SignatureNonce: newNonce() };
    const request = signV1(server, params, { secret: 'not-the-secret' });
    const body = assertJsonError(await send(request), 400, 'SignatureDoesNotMatch');
    const sent = new URL(request.url).searchParams;
    assert.equal(
      body.Message,
      'Specified signature is not matched with our calculation. server string to sign is:' +
        v1StringToSign('GET', new Map([...sent].filter(([k]) => k !== 'Signature'))),
    );
  });

  it('an unknown AccessKeyId: InvalidAccessKeyId.NotFound (404)', async () => {
    for (const mode of everyMode({ ...server, accessKeyId: 'LTAInobodyHasThisKey' })) {
      const e = await sdkError(() => mode.call('DescribeEnsRegions'));
      assertSdkError(e, 'InvalidAccessKeyId.NotFound', 404, mode.name);
      assert.equal(e.data.Message, 'Specified access key is not found.');
    }
  });

  it('a timestamp 16 minutes old or ahead, correctly signed: InvalidTimeStamp.Expired (400)', async () => {
    for (const mode of protocolModes(server)) {
      for (const offset of [-16 * MINUTE, 16 * MINUTE]) {
        const e = await sdkError(() =>
          callWith(mode, 'DescribeEnsRegions', { timestamp: utcTimestamp(Date.now() + offset) }),
        );
        assertSdkError(e, 'InvalidTimeStamp.Expired', 400, `${mode.name} ${offset}`);
        assert.equal(e.data.Message, 'Specified time stamp or date value is expired.');
      }
    }
  });

  it('a timestamp 14 minutes old or ahead is still inside the window', async () => {
    for (const mode of protocolModes(server)) {
      for (const offset of [-14 * MINUTE, 14 * MINUTE]) {
        const r = await callWith(mode, 'DescribeEnsRegions', {
          timestamp: utcTimestamp(Date.now() + offset),
        });
        assert.equal(r.Code, 0, `${mode.name} ${offset}`);
      }
    }
  });

  it('a malformed timestamp: InvalidTimeStamp.Format (400)', async () => {
    const malformed = [
      '2024-01-01T00:00:00.000Z', // fractional seconds
      '2024-01-01 00:00:00',
      '2024-01-01T00:00:00+08:00',
      '2024-02-30T00:00:00Z', // no such day
      'yesterday',
    ];
    for (const mode of protocolModes(server)) {
      for (const timestamp of malformed) {
        const e = await sdkError(() => callWith(mode, 'DescribeEnsRegions', { timestamp }));
        assertSdkError(e, 'InvalidTimeStamp.Format', 400, `${mode.name} ${timestamp}`);
        assert.equal(e.data.Message, 'Specified time stamp or date value is not well formatted.');
      }
    }
  });

  it('a reused nonce, correctly signed each time: SignatureNonceUsed (400)', async () => {
    for (const mode of protocolModes(server)) {
      const nonce = newNonce();
      const first = await callWith(mode, 'DescribeEnsRegions', { nonce });
      assert.equal(first.Code, 0, mode.name);
      const e = await sdkError(() => callWith(mode, 'DescribeEnsRegions', { nonce }));
      assertSdkError(e, 'SignatureNonceUsed', 400, mode.name);
      assert.equal(e.data.Message, 'Specified signature nonce was used already.');
      // A different action with the same nonce is a replay too.
      assertSdkError(
        await sdkError(() => callWith(mode, 'DescribeSnapshots', { nonce })),
        'SignatureNonceUsed',
        400,
        mode.name,
      );
    }
  });

  it('an unknown Version: InvalidVersion (400)', async () => {
    for (const mode of everyMode(server)) {
      const e = await sdkError(() => mode.call('DescribeEnsRegions', {}, { version: '2099-01-01' }));
      assertSdkError(e, 'InvalidVersion', 400, mode.name);
      assert.equal(e.data.Message, 'Specified parameter Version is not valid.');
    }
  });

  it('an unknown Action: InvalidAction.NotFound (404)', async () => {
    for (const mode of everyMode(server)) {
      for (const action of ['DescribeInstances', 'describeSnapshots', 'CreateSnapshots']) {
        if (action === 'describeSnapshots' && mode.name.startsWith('pop-core')) continue; // pop-core capitalises it
        const e = await sdkError(() => mode.call(action));
        assertSdkError(e, 'InvalidAction.NotFound', 404, `${mode.name} ${action}`);
        assert.equal(e.data.Message, 'Specified api is not found, please check your url and method.');
      }
    }
  });

  it('errors from the operation itself keep the same envelope', async () => {
    for (const mode of everyMode(server)) {
      const e = await sdkError(() => mode.call('DescribeSnapshots', { PageSize: 0 }));
      assertSdkError(e, 'InvalidParameter.PageSize', 400, mode.name);
    }
  });
});

describe('what the legacy SDKs add is accepted', () => {
  let server: Running;
  before(async () => {
    server = await startEnsnap();
  });
  after(() => server.stop());

  it('RegionId and an empty SignatureType are signed and ignored (legacy Go SDK)', async () => {
    const disk = await createDisk(pop(server));
    for (const options of [{}, { method: 'POST', body: true }]) {
      const r = await send(
        signV1(
          server,
          {
            Action: 'CreateSnapshot',
            DiskId: disk,
            EnsRegionId: REGION,
            RegionId: 'cn-hangzhou',
            SignatureType: '',
          },
          options,
        ),
      );
      assert.equal(r.status, 200, r.text);
      assert.match(r.json().SnapShotId as string, /^s-[a-z0-9]{20}$/);
    }
    for (const mode of everyMode(server)) {
      const r = await mode.call('DescribeEnsRegions', { EnsRegionId: REGION, RegionId: 'cn-hangzhou' });
      assert.equal(r.Code, 0, mode.name);
    }
  });
});

describe('protocol faults sent with fetch', () => {
  let server: Running;
  before(async () => {
    server = await startEnsnap();
  });
  after(() => server.stop());

  it('the exact same signed GET URL sent twice: 200, then SignatureNonceUsed', async () => {
    const request = signV1(server, { Action: 'DescribeEnsRegions', EnsRegionId: REGION });
    const first = await send(request);
    assert.equal(first.status, 200, first.text);
    assert.equal(first.json().Code, 0);
    assertJsonError(await send(request), 400, 'SignatureNonceUsed');
    assertJsonError(await send(request), 400, 'SignatureNonceUsed');
  });

  it('the exact same V3 request sent twice: 200, then SignatureNonceUsed', async () => {
    for (const algorithm of ['ACS3-HMAC-SHA256', 'ACS3-HMAC-SM3'] as const) {
      const request = signV3(server, 'DescribeEnsRegions', { EnsRegionId: REGION }, { algorithm });
      assert.equal((await send(request)).status, 200, algorithm);
      assertJsonError(await send(request), 400, 'SignatureNonceUsed');
    }
  });

  it('a replayed POST form body: SignatureNonceUsed', async () => {
    const request = signV1(server, { Action: 'DescribeSnapshots' }, { method: 'POST', body: true });
    assert.equal((await send(request)).status, 200);
    assertJsonError(await send(request), 400, 'SignatureNonceUsed');
  });

  it('a request refused for its signature does not use up its nonce', async () => {
    const nonce = newNonce();
    const bad = signV1(server, { Action: 'DescribeEnsRegions', SignatureNonce: nonce }, { secret: 'wrong' });
    assertJsonError(await send(bad), 400, 'SignatureDoesNotMatch');
    const good = await send(signV1(server, { Action: 'DescribeEnsRegions', SignatureNonce: nonce }));
    assert.equal(good.status, 200, good.text);
  });

  it('a v1 request signed for GET but sent as POST: SignatureDoesNotMatch', async () => {
    const request = signV1(server, { Action: 'DescribeEnsRegions' });
    assertJsonError(await send({ url: request.url, init: { method: 'POST' } }), 400, 'SignatureDoesNotMatch');
  });

  it('a tampered parameter after signing: SignatureDoesNotMatch', async () => {
    const request = signV1(server, { Action: 'DescribeEnsRegions', EnsRegionId: REGION });
    const url = request.url.replace(`EnsRegionId=${REGION}`, 'EnsRegionId=cn-shenzhen-3');
    assert.notEqual(url, request.url);
    assertJsonError(await send({ url, init: request.init }), 400, 'SignatureDoesNotMatch');
  });

  it('V3 with a 16-minute-old x-acs-date: InvalidTimeStamp.Expired', async () => {
    const old = utcTimestamp(Date.now() - 16 * MINUTE);
    assertJsonError(
      await send(signV3(server, 'DescribeEnsRegions', {}, { headers: { 'x-acs-date': old } })),
      400,
      'InvalidTimeStamp.Expired',
    );
  });

  it('PUT, DELETE and PATCH: UnsupportedHTTPMethod (400) with a JSON envelope', async () => {
    for (const method of ['PUT', 'DELETE', 'PATCH']) {
      const body = assertJsonError(
        await send(signV1(server, { Action: 'DescribeEnsRegions' }, { method })),
        400,
        'UnsupportedHTTPMethod',
      );
      assert.match(body.Message as string, new RegExp(method));
    }
  });

  it('a malformed V3 Authorization header: IncompleteSignature (400)', async () => {
    const headers = { 'x-acs-action': 'DescribeEnsRegions', 'x-acs-version': '2017-11-10' };
    for (const authorization of [
      'ACS3-HMAC-SHA256',
      'ACS3-HMAC-SHA256 garbage',
      'ACS3-HMAC-SHA256 Credential=x,SignedHeaders=host',
      'ACS3-HMAC-SHA256 Credential=,SignedHeaders=host,Signature=abc',
    ]) {
      const r = await send({
        url: `${server.endpoint}/`,
        init: { method: 'POST', headers: { ...headers, authorization } },
      });
      assertJsonError(r, 400, 'IncompleteSignature');
    }
  });

  it('a V3 request whose SignedHeaders leave out an x-acs- header it sends: IncompleteSignature', async () => {
    const request = signV3(server, 'DescribeEnsRegions', {});
    const headers = request.init.headers as Record<string, string>;
    headers.authorization = (headers.authorization as string).replace(';x-acs-signature-nonce', '');
    assertJsonError(await send(request), 400, 'IncompleteSignature');
  });

  it('a V3 request signed with a wrong secret: SignatureDoesNotMatch', async () => {
    for (const algorithm of ['ACS3-HMAC-SHA256', 'ACS3-HMAC-SM3'] as const) {
      const r = await send(signV3(server, 'DescribeEnsRegions', {}, { algorithm, secret: 'wrong' }));
      const body = assertJsonError(r, 400, 'SignatureDoesNotMatch');
      assert.match(
        body.Message as string,
        new RegExp(`server string to sign is:${algorithm}\n[0-9a-f]{64}$`),
      );
    }
  });

  it('a v1 request without one of its protocol parameters: MissingParameter naming it', async () => {
    for (const name of ['Action', 'AccessKeyId', 'SignatureNonce', 'Timestamp', 'Signature']) {
      const request = signV1(server, { Action: 'DescribeEnsRegions' });
      const url = new URL(request.url);
      url.searchParams.delete(name);
      const body = assertJsonError(
        await send({ url: url.toString(), init: request.init }),
        400,
        'MissingParameter',
      );
      assert.equal(
        body.Message,
        `The input parameter ${name} that is mandatory for processing this request is not supplied.`,
      );
    }
  });

  it('an unknown path: InvalidAction.NotFound (404) with a JSON envelope', async () => {
    for (const method of ['GET', 'POST']) {
      assertJsonError(
        await send({ url: `${server.endpoint}/v1/snapshots`, init: { method } }),
        404,
        'InvalidAction.NotFound',
      );
    }
  });

  it('a request with no parameters at all: MissingParameter (Action), in XML as v1 without Format', async () => {
    const r = await send({ url: `${server.endpoint}/`, init: { method: 'GET' } });
    assert.equal(r.status, 400);
    assert.equal(r.contentType, 'text/xml;charset=utf-8');
    assert.match(
      r.text,
      /^<\?xml version="1.0" encoding="UTF-8"\?><Error><RequestId>[0-9A-F-]{36}<\/RequestId>/,
    );
    assert.match(r.text, /<Code>MissingParameter<\/Code>/);
    assert.match(r.text, /<Message>The input parameter Action that is mandatory/);
  });
});

describe('response format: Format=XML and JSON', () => {
  let server: Running;
  let diskId: string;
  before(async () => {
    server = await startEnsnap();
    diskId = await createDisk(pop(server));
  });
  after(() => server.stop());

  const XML_DECLARATION = '<?xml version="1.0" encoding="UTF-8"?>';
  const element = (xml: string, name: string): string | undefined =>
    new RegExp(`<${name}>([^<]*)</${name}>`).exec(xml)?.[1];

  it('Format=XML: a CreateSnapshotResponse document, over GET and POST', async () => {
    for (const options of [{}, { method: 'POST', body: true }]) {
      const r = await send(
        signV1(
          server,
          { Action: 'CreateSnapshot', DiskId: diskId, EnsRegionId: REGION, Format: 'XML' },
          options,
        ),
      );
      assert.equal(r.status, 200, r.text);
      assert.equal(r.contentType, 'text/xml;charset=utf-8');
      assert.ok(r.text.startsWith(`${XML_DECLARATION}<CreateSnapshotResponse>`), r.text);
      assert.ok(r.text.endsWith('</CreateSnapshotResponse>'), r.text);
      assert.match(element(r.text, 'RequestId') ?? '', REQUEST_ID);
      assert.match(element(r.text, 'SnapShotId') ?? '', /^s-[a-z0-9]{20}$/);
      assert.match(element(r.text, 'OrderId') ?? '', /^[0-9]{15}$/);
    }
  });

  it('Format=XML: errors are an <Error> document with the same status', async () => {
    const r = await send(
      signV1(server, {
        Action: 'CreateSnapshot',
        DiskId: 'd-unknown000000000000000000',
        EnsRegionId: REGION,
        Format: 'XML',
      }),
    );
    assert.equal(r.status, 400);
    assert.equal(r.contentType, 'text/xml;charset=utf-8');
    assert.ok(r.text.startsWith(`${XML_DECLARATION}<Error>`), r.text);
    assert.ok(r.text.endsWith('</Error>'));
    assert.equal(element(r.text, 'Code'), 'DiskIdNotFound');
    assert.equal(element(r.text, 'Message'), 'The input parameter DiskId that is not found.');
    assert.equal(element(r.text, 'HostId'), '127.0.0.1');
    assert.match(element(r.text, 'RequestId') ?? '', REQUEST_ID);

    const auth = await send(
      signV1(server, { Action: 'DescribeEnsRegions', Format: 'XML' }, { secret: 'wrong' }),
    );
    assert.equal(auth.status, 400);
    assert.equal(element(auth.text, 'Code'), 'SignatureDoesNotMatch');
    assert.match(auth.text, /server string to sign is:GET&amp;%2F&amp;/, 'XML-escaped');
  });

  it('XML escapes text; JSON carries it unchanged', async () => {
    const description = `a<b> & "c" 'd'`;
    const id = snapshotIdOf(
      await pop(server).call('CreateSnapshot', {
        DiskId: diskId,
        EnsRegionId: REGION,
        Description: description,
      }),
    );
    const xml = await send(signV1(server, { Action: 'DescribeSnapshots', SnapshotId: id, Format: 'XML' }));
    assert.match(xml.text, /<Description>a&lt;b&gt; &amp; &quot;c&quot; &apos;d&apos;<\/Description>/);
    const json = await send(signV1(server, { Action: 'DescribeSnapshots', SnapshotId: id }));
    assert.equal((json.json().Snapshots as { Description: string }[])[0]?.Description, description);
  });

  it('Format is case-insensitive', async () => {
    for (const format of ['xml', 'Xml', 'XML']) {
      const r = await send(
        signV1(server, { Action: 'DescribeEnsRegions', EnsRegionId: REGION, Format: format }),
      );
      assert.equal(r.status, 200);
      assert.ok(r.text.startsWith(`${XML_DECLARATION}<DescribeEnsRegionsResponse>`), `${format}: ${r.text}`);
      assert.equal(element(r.text, 'EnsRegionId'), REGION);
      assert.equal(element(r.text, 'Code'), '0');
    }
    for (const format of ['json', 'Json', 'JSON']) {
      const r = await send(
        signV1(server, { Action: 'DescribeEnsRegions', EnsRegionId: REGION, Format: format }),
      );
      assert.equal(r.status, 200);
      assert.equal(r.contentType, 'application/json;charset=utf-8');
      assert.equal(r.json().Code, 0, format);
    }
  });

  it('a v1 request without Format is answered in XML; a V3 request (no Format) in JSON', async () => {
    const v1 = await send(signV1(server, { Action: 'DescribeSnapshots', Format: undefined }));
    assert.equal(v1.status, 200);
    assert.equal(v1.contentType, 'text/xml;charset=utf-8');
    assert.ok(v1.text.startsWith(`${XML_DECLARATION}<DescribeSnapshotsResponse>`), v1.text);
    assert.match(element(v1.text, 'TotalCount') ?? '', /^[0-9]+$/);

    const v1Error = await send(signV1(server, { Action: 'DeleteSnapshot', Format: undefined }));
    assert.equal(v1Error.status, 400);
    assert.equal(element(v1Error.text, 'Code'), 'MissingParameter');

    const v3 = await send(signV3(server, 'DescribeSnapshots', {}));
    assert.equal(v3.status, 200);
    assert.equal(v3.contentType, 'application/json;charset=utf-8');
    assert.equal(typeof v3.json().TotalCount, 'number');
  });

  it('Format=XML under ENSNAP_PROFILE=current: SnapShotId holds the sp- id', async () => {
    const current = await startEnsnap({ ENSNAP_PROFILE: 'current' });
    try {
      const disk = await createDisk(pop(current));
      const r = await send(
        signV1(current, { Action: 'CreateSnapshot', DiskId: disk, EnsRegionId: REGION, Format: 'XML' }),
      );
      assert.equal(r.status, 200, r.text);
      assert.ok(r.text.startsWith(`${XML_DECLARATION}<CreateSnapshotResponse>`), r.text);
      assert.match(element(r.text, 'SnapShotId') ?? '', /^sp-[a-z0-9]{24}$/);
    } finally {
      await current.stop();
    }
  });

  it('an unsupported Format: InvalidParameter.Format, in JSON', async () => {
    const r = await send(signV1(server, { Action: 'DescribeEnsRegions', Format: 'YAML' }));
    assertJsonError(r, 400, 'InvalidParameter.Format');
  });

  it('the SDKs get JSON: pop-core sends Format=JSON, openapi-client v2 sends Format=json', async () => {
    for (const client of [popCore(server), openApi(server, 'v2')]) {
      const r = await client.call('DescribeEnsRegions', { EnsRegionId: REGION });
      assert.equal(r.Code, 0, client.name);
    }
  });
});
