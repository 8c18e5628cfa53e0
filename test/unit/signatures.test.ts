// The reference's test vectors (ens-api.md §3.6 and sdk-wire.md), computed by our signers.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { decodeRequest } from '../../src/protocol/decode.js';
import { v1Sign, v1StringToSign, v1StringToSignFromQuery } from '../../src/protocol/signature-v1.js';
import {
  hashHex,
  parseAuthorization,
  v3Authorization,
  v3Sign,
  v3StringToSign,
} from '../../src/protocol/signature-v3.js';
import { percentEncode } from '../../src/protocol/percent-encoding.js';

const map = (o: Record<string, string>) => new Map(Object.entries(o));
const EMPTY_SHA256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';

describe('percent-encoding (RFC 3986)', () => {
  it("escapes ! ' ( ) * and space, keeps ~ and unreserved characters", () => {
    assert.equal(percentEncode("a b!'()*~-_.é/:"), 'a%20b%21%27%28%29%2A~-_.%C3%A9%2F%3A');
  });
});

/** The string to sign from the decoded parameters (the reference computation), or undefined if the query does not decode. */
function fromParams(query: string): string | undefined {
  try {
    const req = decodeRequest({
      method: 'GET',
      url: '/?' + query,
      headers: {},
      body: Buffer.alloc(0),
      sourceIp: '',
      secure: false,
    });
    return v1StringToSign('GET', req.params);
  } catch {
    return undefined;
  }
}

describe('signature v1 from the raw query (canonical form sent as signed)', () => {
  const canonical =
    'AccessKeyId=LTAIbenchRootKey0001&Action=CreateSnapshot&DiskId=d-abc&EnsRegionId=cn-beijing-15&Format=JSON' +
    '&SignatureMethod=HMAC-SHA1&SignatureNonce=0f1e&SignatureVersion=1.0&SnapshotName=a%20b%21%C3%A9' +
    '&Timestamp=2026-11-29T17%3A30%3A00Z&Version=2017-11-10';

  it("takes pop-core's query as it is, Signature left out wherever it stands", () => {
    const expected = fromParams(canonical);
    assert.equal(v1StringToSignFromQuery('GET', canonical + '&Signature=abc%3D'), expected);
    assert.equal(v1StringToSignFromQuery('GET', 'Signature=abc&' + canonical), expected);
    assert.equal(v1StringToSignFromQuery('GET', canonical), expected);
  });

  it('declines anything not already canonical', () => {
    for (const query of [
      'B=1&A=2', // out of order
      'A=1&A=2', // repeated
      'A=a+b', // + for a space
      'A=%3a', // lower-case hex
      'A=%41', // an escaped unreserved character
      "A=it's", // raw ' (signed escaped)
      'A=1&&B=2', // an empty pair
      'A&B=1', // no =
      'A=1&', // a trailing &
      '%41=1', // an escaped name
      'A=%', // a truncated escape
      'A=%4', // a truncated escape
      'A=a/b', // raw /
    ])
      assert.equal(v1StringToSignFromQuery('GET', query), undefined, query);
  });

  it('agrees with the decoded computation whenever it answers (property)', () => {
    const piece = fc.constantFrom(
      'A',
      'B',
      'a',
      'Z',
      '0',
      '-',
      '.',
      '_',
      '~',
      '%20',
      '%2F',
      '%3A',
      '%41',
      '%3a',
      '%C3%A9',
      '%E2%82%AC',
      '%FF',
      '+',
      '!',
      "'",
      '*',
      '%',
      '=',
      '/',
      'é',
      'Signature',
    );
    const text = fc.array(piece, { maxLength: 6 }).map((a) => a.join(''));
    const pair = fc.tuple(text, fc.option(text)).map(([n, v]) => (v === null ? n : `${n}=${v}`));
    // The server takes the fast path only for a query that decoded (valid UTF-8 escapes).
    let compared = 0;
    fc.assert(
      fc.property(fc.array(pair, { maxLength: 6 }), fc.boolean(), (pairs, sorted) => {
        const query = (sorted ? [...pairs].sort() : pairs).join('&');
        const fast = v1StringToSignFromQuery('GET', query);
        const reference = fromParams(query);
        if (fast === undefined || reference === undefined) return;
        compared++;
        assert.equal(fast, reference, query);
      }),
      { seed: 20261129, numRuns: 20000 },
    );
    assert.ok(compared > 1000, `only ${compared} queries took the fast path`);
  });
});

describe('signature v1 (HMAC-SHA1)', () => {
  it('vector A: the official documentation example', () => {
    const sts = v1StringToSign(
      'GET',
      map({
        AccessKeyId: 'testid',
        Action: 'DescribeRegions',
        Format: 'XML',
        SignatureMethod: 'HMAC-SHA1',
        SignatureNonce: '3ee8c1b8-83d3-44af-a94f-4e0ad82fd6cf',
        SignatureVersion: '1.0',
        Timestamp: '2016-02-23T12:46:24Z',
        Version: '2014-05-26',
      }),
    );
    assert.equal(
      sts,
      'GET&%2F&AccessKeyId%3Dtestid%26Action%3DDescribeRegions%26Format%3DXML%26SignatureMethod%3DHMAC-SHA1%26SignatureNonce%3D3ee8c1b8-83d3-44af-a94f-4e0ad82fd6cf%26SignatureVersion%3D1.0%26Timestamp%3D2016-02-23T12%253A46%253A24Z%26Version%3D2014-05-26',
    );
    assert.equal(v1Sign(sts, 'testsecret'), 'OLeaidS1JvxuMvnyHOwuJ+uX5qY=');
  });

  it('vector B: CreateSnapshot, query and form body merged, special characters and UTF-8', () => {
    const params = map({
      AccessKeyId: 'testid',
      Action: 'CreateSnapshot',
      Format: 'json',
      SignatureMethod: 'HMAC-SHA1',
      SignatureNonce: '5f2c7e1a-0000-4000-8000-000000000001',
      SignatureVersion: '1.0',
      Timestamp: '2024-01-01T00:00:00Z',
      Version: '2017-11-10',
      DiskId: 'd-5tzm9wnhzlhjzcbtxo465abcd',
      EnsRegionId: 'ch-zurich-1',
      SnapshotName: 'nightly-1',
      Description: 'daily backup ~ v1*(a)! 快照',
      Signature: 'ignored-when-signing',
    });
    const sts = v1StringToSign('POST', params);
    assert.equal(
      sts,
      'POST&%2F&AccessKeyId%3Dtestid%26Action%3DCreateSnapshot%26Description%3Ddaily%2520backup%2520~%2520v1%252A%2528a%2529%2521%2520%25E5%25BF%25AB%25E7%2585%25A7%26DiskId%3Dd-5tzm9wnhzlhjzcbtxo465abcd%26EnsRegionId%3Dch-zurich-1%26Format%3Djson%26SignatureMethod%3DHMAC-SHA1%26SignatureNonce%3D5f2c7e1a-0000-4000-8000-000000000001%26SignatureVersion%3D1.0%26SnapshotName%3Dnightly-1%26Timestamp%3D2024-01-01T00%253A00%253A00Z%26Version%3D2017-11-10',
    );
    assert.equal(v1Sign(sts, 'testsecret'), '6Ypn5tT9Rw/ky27WZXwNzEJOFC8=');
  });

  it('vector C: an empty-valued parameter takes part in the signature', () => {
    const sts = v1StringToSign(
      'GET',
      map({
        AccessKeyId: 'testid',
        Action: 'DescribeEnsRegions',
        Format: 'JSON',
        RegionId: 'cn-hangzhou',
        SignatureMethod: 'HMAC-SHA1',
        SignatureNonce: 'nonce-0001',
        SignatureType: '',
        SignatureVersion: '1.0',
        Timestamp: '2024-01-01T00:00:00Z',
        Version: '2017-11-10',
      }),
    );
    assert.equal(v1Sign(sts, 'testsecret'), '9aZoOjHKzBalOwvLuNT516/lNF0=');
  });

  it('the pop-core capture of sdk-wire.md', () => {
    const sts = v1StringToSign(
      'GET',
      map({
        AccessKeyId: 'testAKID',
        Action: 'CreateSnapshot',
        Description: "desc with space/slash!*'()~é",
        DiskId: 'd-stub0001',
        EnsRegionId: 'cn-test-1',
        Format: 'JSON',
        SignatureMethod: 'HMAC-SHA1',
        SignatureNonce: '1eb37d452f0ec91f6008c78182f1de75',
        SignatureVersion: '1.0',
        SnapshotName: 'snap:a_b-c',
        Timestamp: '2026-11-29T13:05:25Z',
        Version: '2017-11-10',
      }),
    );
    assert.equal(v1Sign(sts, 'testSecret'), '7b5/1Uwtn3pkEhxl3tyHBAGSdws=');
  });
});

describe('signature V3 (ACS3-HMAC-SHA256)', () => {
  const headersOf = (h: Record<string, string>) => (name: string) => h[name];

  it('vector D: the official documentation example', () => {
    const headers = {
      host: 'ecs.cn-shanghai.aliyuncs.com',
      'x-acs-action': 'RunInstances',
      'x-acs-version': '2014-05-26',
      'x-acs-date': '2023-10-26T10:22:32Z',
      'x-acs-signature-nonce': '3156853299f313e23d1673dc12e1703d',
      'x-acs-content-sha256': EMPTY_SHA256,
    };
    const { canonicalRequest, stringToSign } = v3StringToSign({
      algorithm: 'ACS3-HMAC-SHA256',
      method: 'POST',
      path: '/',
      query: map({ ImageId: 'win2019_1809_x64_dtc_zh-cn_40G_alibase_20230811.vhd', RegionId: 'cn-shanghai' }),
      headers: headersOf(headers),
      signedHeaders: Object.keys(headers),
      payloadHash: hashHex('ACS3-HMAC-SHA256', ''),
    });
    assert.equal(
      hashHex('ACS3-HMAC-SHA256', canonicalRequest),
      '7ea06492da5221eba5297e897ce16e55f964061054b7695beedaac1145b1e259',
    );
    assert.equal(
      v3Sign('ACS3-HMAC-SHA256', stringToSign, 'YourAccessKeySecret'),
      '06563a9e1b43f5dfe96b81484da74bceab24a1d853912eee15083a6f0f3283c0',
    );
  });

  it('vector E: ENS CreateSnapshot, parameters in the query', () => {
    const headers = {
      host: 'ens.aliyuncs.com',
      'x-acs-action': 'CreateSnapshot',
      'x-acs-version': '2017-11-10',
      'x-acs-date': '2024-01-01T00:00:00Z',
      'x-acs-signature-nonce': 'd410180a5abf7fe235dd9b74aca91fc0',
      'x-acs-content-sha256': EMPTY_SHA256,
    };
    const { canonicalRequest, stringToSign } = v3StringToSign({
      algorithm: 'ACS3-HMAC-SHA256',
      method: 'POST',
      path: '/',
      query: map({
        DiskId: 'd-5tzm9wnhzlhjzcbtxo465abcd',
        EnsRegionId: 'ch-zurich-1',
        SnapshotName: 'nightly-1',
        Description: 'daily backup ~ v1*(a)! 快照',
      }),
      headers: headersOf(headers),
      signedHeaders: Object.keys(headers),
      payloadHash: EMPTY_SHA256,
    });
    assert.equal(
      hashHex('ACS3-HMAC-SHA256', canonicalRequest),
      'd682050205df6165e7532700c1ab1a24bf239df6c386f22fd37cf4ebc01fdc60',
    );
    assert.equal(
      v3Sign('ACS3-HMAC-SHA256', stringToSign, 'testsecret'),
      '906c91b51cb5d5d793d7fe81c7598181b0fc36ee328b54721378e976de7d1b01',
    );
  });

  it('vector F: a form body, content-type signed', () => {
    const body = 'DiskId=d-5tzm9wnhzlhjzcbtxo465abcd&EnsRegionId=ch-zurich-1';
    const payloadHash = hashHex('ACS3-HMAC-SHA256', body);
    assert.equal(payloadHash, '90b4b8ee004064b13583db6a2420d30ed331088b0d07783ea3dba4360002d2c6');
    const headers = {
      'content-type': 'application/x-www-form-urlencoded',
      host: 'ens.aliyuncs.com',
      'x-acs-action': 'CreateSnapshot',
      'x-acs-version': '2017-11-10',
      'x-acs-date': '2024-01-01T00:00:00Z',
      'x-acs-signature-nonce': 'd410180a5abf7fe235dd9b74aca91fc0',
      'x-acs-content-sha256': payloadHash,
    };
    const { stringToSign } = v3StringToSign({
      algorithm: 'ACS3-HMAC-SHA256',
      method: 'POST',
      path: '/',
      query: new Map(),
      headers: headersOf(headers),
      signedHeaders: Object.keys(headers),
      payloadHash,
    });
    assert.equal(
      v3Sign('ACS3-HMAC-SHA256', stringToSign, 'testsecret'),
      '4d44c146dd4edf99aeec6a336f2a5e30f21455dd8c9a9b81532e740325a8d5ca',
    );
  });

  it('the openapi-client capture of sdk-wire.md (credentials-provider header signed)', () => {
    const headers = {
      host: '127.0.0.1:18080',
      'x-acs-action': 'CreateSnapshot',
      'x-acs-content-sha256': EMPTY_SHA256,
      'x-acs-credentials-provider': 'static_ak',
      'x-acs-date': '2026-11-29T13:05:25Z',
      'x-acs-signature-nonce': 'd6bb31dda2854b7498f2be926ad5bf08',
      'x-acs-version': '2017-11-10',
    };
    const { stringToSign } = v3StringToSign({
      algorithm: 'ACS3-HMAC-SHA256',
      method: 'POST',
      path: '/',
      query: map({
        DiskId: 'd-stub0001',
        EnsRegionId: 'cn-test-1',
        SnapshotName: 'snap:a_b-c',
        Description: "desc with space/slash!*'()~é",
      }),
      headers: headersOf(headers),
      signedHeaders: Object.keys(headers),
      payloadHash: EMPTY_SHA256,
    });
    assert.equal(
      stringToSign,
      'ACS3-HMAC-SHA256\n334ccf3b8e4fb267cd0ada1b7f8a971e90eea1eb09a901382742b1b6a44ee5ce',
    );
    assert.match(v3Sign('ACS3-HMAC-SHA256', stringToSign, 'testSecret'), /^8ecc4aec.*2b6982$/);
  });

  it('signs a request (the client side): vector D and vector F as Authorization headers', () => {
    assert.equal(
      v3Authorization({
        algorithm: 'ACS3-HMAC-SHA256',
        method: 'POST',
        path: '/',
        query: map({
          ImageId: 'win2019_1809_x64_dtc_zh-cn_40G_alibase_20230811.vhd',
          RegionId: 'cn-shanghai',
        }),
        // In another order and case than signed: the signer sorts and lower-cases them.
        headers: {
          'x-acs-version': '2014-05-26',
          Host: 'ecs.cn-shanghai.aliyuncs.com',
          'x-acs-action': 'RunInstances',
          'x-acs-signature-nonce': '3156853299f313e23d1673dc12e1703d',
          'x-acs-date': '2023-10-26T10:22:32Z',
          'x-acs-content-sha256': EMPTY_SHA256,
        },
        payloadHash: EMPTY_SHA256,
        accessKeyId: 'YourAccessKeyId',
        secret: 'YourAccessKeySecret',
      }),
      'ACS3-HMAC-SHA256 Credential=YourAccessKeyId,SignedHeaders=host;x-acs-action;x-acs-content-sha256;x-acs-date;x-acs-signature-nonce;x-acs-version,Signature=06563a9e1b43f5dfe96b81484da74bceab24a1d853912eee15083a6f0f3283c0',
    );
    const payloadHash = '90b4b8ee004064b13583db6a2420d30ed331088b0d07783ea3dba4360002d2c6';
    const authorization = v3Authorization({
      algorithm: 'ACS3-HMAC-SHA256',
      method: 'POST',
      path: '/',
      query: new Map(),
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        host: 'ens.aliyuncs.com',
        'x-acs-action': 'CreateSnapshot',
        'x-acs-version': '2017-11-10',
        'x-acs-date': '2024-01-01T00:00:00Z',
        'x-acs-signature-nonce': 'd410180a5abf7fe235dd9b74aca91fc0',
        'x-acs-content-sha256': payloadHash,
      },
      payloadHash,
      accessKeyId: 'testid',
      secret: 'testsecret',
    });
    assert.equal(
      parseAuthorization(authorization)?.signature,
      '4d44c146dd4edf99aeec6a336f2a5e30f21455dd8c9a9b81532e740325a8d5ca',
    );
  });

  it('parses the Authorization header, and refuses a malformed one', () => {
    assert.deepEqual(
      parseAuthorization('ACS3-HMAC-SHA256 Credential=AK,SignedHeaders=host;x-acs-date,Signature=ab12'),
      {
        algorithm: 'ACS3-HMAC-SHA256',
        accessKeyId: 'AK',
        signedHeaders: ['host', 'x-acs-date'],
        signature: 'ab12',
      },
    );
    assert.equal(parseAuthorization('ACS3-HMAC-SHA256 Credential=AK,Signature=ab12'), null);
    assert.equal(parseAuthorization('ACS3-HMAC-SHA256'), null);
    assert.equal(parseAuthorization('ACS3-HMAC-SHA256 garbage'), null);
  });
});
