import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ApiError } from '../../src/errors/catalog.js';
import {
  compilePolicy,
  evaluatePolicies,
  parsePolicyDocument,
  SYSTEM_POLICIES,
  type CompiledPolicy,
  type RequestContext,
} from '../../src/domain/iam/policy.js';

const ACCOUNT = '1000000000000001';
/** What an operation without resource-level authorization passes as its resource. */
const ALL = `acs:ens:*:${ACCOUNT}:*`;
const SNAPSHOT = `acs:ens:*:${ACCOUNT}:snapshot/s-abc`;
const NOW = new Date('2026-01-01T00:00:00Z');

function ctx(over: Partial<RequestContext> = {}): RequestContext {
  return {
    action: 'ens:CreateSnapshot',
    resource: ALL,
    sourceIp: '192.0.2.10',
    currentTime: NOW,
    secureTransport: true,
    ...over,
  };
}

function policy(...statements: object[]): CompiledPolicy {
  return compilePolicy(parsePolicyDocument(JSON.stringify({ Version: '1', Statement: statements })));
}

const allow = (extra: object = {}) => ({
  Effect: 'Allow',
  Action: 'ens:CreateSnapshot',
  Resource: '*',
  ...extra,
});
const deny = (extra: object = {}) => ({ ...allow(extra), Effect: 'Deny' });

/** The decision of one policy of one statement for a request. */
function decide(statement: object, over: Partial<RequestContext> = {}) {
  return evaluatePolicies([policy(statement)], ctx(over));
}

/** Whether an Allow statement with this condition allows the request. */
function met(condition: object, over: Partial<RequestContext> = {}): boolean {
  return decide(allow({ Condition: condition }), over) === 'allow';
}

function refuses(document: unknown, code: string, says: string | RegExp): void {
  const text = typeof document === 'string' ? document : JSON.stringify(document);
  assert.throws(
    () => parsePolicyDocument(text),
    (e: unknown) => {
      assert.ok(e instanceof ApiError, String(e));
      assert.equal(e.code, code);
      assert.equal(e.status, 400);
      if (typeof says === 'string') assert.ok(e.message.includes(says), `${e.message} should say ${says}`);
      else assert.match(e.message, says);
      return true;
    },
  );
}

/** A document whose only statement is `statement`. */
const doc = (statement: object) => ({ Version: '1', Statement: [statement] });
/** A document whose only statement allows with this Condition. */
const withCondition = (condition: unknown) => doc(allow({ Condition: condition }));

describe('policy evaluation', () => {
  it('allows what a statement allows; denies implicitly what none does', () => {
    const p = policy(allow());
    assert.equal(p.evaluate(ctx()), 'allow');
    assert.equal(evaluatePolicies([p], ctx()), 'allow');
    assert.equal(p.evaluate(ctx({ action: 'ens:DeleteSnapshot' })), 'none');
    assert.equal(evaluatePolicies([p], ctx({ action: 'ens:DeleteSnapshot' })), 'implicit-deny');
    assert.equal(evaluatePolicies([], ctx()), 'implicit-deny');
  });

  it('an explicit Deny beats any Allow, in one policy and across policies, in any order', () => {
    const both = policy(allow(), deny());
    assert.equal(both.evaluate(ctx()), 'deny');
    assert.equal(policy(deny(), allow()).evaluate(ctx()), 'deny');
    const allowAll = policy({ Effect: 'Allow', Action: 'ens:*', Resource: '*' });
    const denyCreate = policy(deny());
    assert.equal(evaluatePolicies([allowAll, denyCreate], ctx()), 'explicit-deny');
    assert.equal(evaluatePolicies([denyCreate, allowAll], ctx()), 'explicit-deny');
    assert.equal(evaluatePolicies([allowAll, denyCreate], ctx({ action: 'ens:DescribeSnapshots' })), 'allow');
    // A Deny that does not apply (its condition unmet) leaves the Allow standing.
    const denyOverHttp = policy(deny({ Condition: { Bool: { 'acs:SecureTransport': 'false' } } }));
    assert.equal(evaluatePolicies([allowAll, denyOverHttp], ctx()), 'allow');
    assert.equal(
      evaluatePolicies([allowAll, denyOverHttp], ctx({ secureTransport: false })),
      'explicit-deny',
    );
  });

  it('NotAction covers every action but the listed ones', () => {
    const allExceptDelete = { Effect: 'Allow', NotAction: ['ens:Delete*', 'ram:*'], Resource: '*' };
    assert.equal(decide(allExceptDelete), 'allow');
    assert.equal(decide(allExceptDelete, { action: 'ens:DeleteSnapshot' }), 'implicit-deny');
    assert.equal(decide(allExceptDelete, { action: 'ram:CreateUser' }), 'implicit-deny');
    const onlyDescribe = policy(
      { Effect: 'Allow', Action: 'ens:*', Resource: '*' },
      { Effect: 'Deny', NotAction: 'ens:Describe*', Resource: '*' },
    );
    assert.equal(onlyDescribe.evaluate(ctx({ action: 'ens:DescribeSnapshots' })), 'allow');
    assert.equal(onlyDescribe.evaluate(ctx()), 'deny');
  });

  it('matches * and ? in actions, case-insensitively, in any order', () => {
    const cases: [string | string[], string, boolean][] = [
      ['ens:Describe*', 'ens:DescribeSnapshots', true],
      ['ens:Describe*', 'ens:CreateSnapshot', false],
      ['ens:*Snapshot', 'ens:CreateSnapshot', true],
      ['ens:*Snapshot', 'ens:DescribeSnapshots', false],
      ['ens:*Snap*', 'ens:DescribeSnapshots', true],
      ['ens:?reateSnapshot', 'ens:CreateSnapshot', true],
      ['ens:??reateSnapshot', 'ens:CreateSnapshot', false],
      ['ens:Describe?', 'ens:DescribeSnapshots', false],
      ['*', 'ens:CreateSnapshot', true],
      ['*:CreateSnapshot', 'ens:CreateSnapshot', true],
      ['ens:*', 'ram:CreateUser', false],
      ['ens:CreateSnapshot', 'ens:CreateSnapshots', false],
      ['ENS:createsnapshot', 'ens:CreateSnapshot', true],
      ['ens:CreateSnapshot', 'Ens:CREATESNAPSHOT', true],
      ['ens:describe*', 'ens:DescribeDisks', true],
      [['ens:DeleteDisk', 'ens:CreateSnapshot'], 'ens:CreateSnapshot', true],
      [['ens:CreateSnapshot', 'ens:DeleteDisk'], 'ens:CreateSnapshot', true],
    ];
    for (const [pattern, action, expected] of cases) {
      const decision = decide({ Effect: 'Allow', Action: pattern, Resource: '*' }, { action });
      assert.equal(decision, expected ? 'allow' : 'implicit-deny', `${JSON.stringify(pattern)} vs ${action}`);
    }
  });

  it('matches * and ? in resources, case-sensitively', () => {
    const cases: [string | string[], string, boolean][] = [
      ['*', SNAPSHOT, true],
      ['*', ALL, true],
      ['acs:ens:*:*:*', ALL, true],
      [`acs:ens:*:${ACCOUNT}:*`, SNAPSHOT, true],
      [`acs:ens:*:${ACCOUNT}:snapshot/*`, SNAPSHOT, true],
      [`acs:ens:*:${ACCOUNT}:snapshot/*`, `acs:ens:*:${ACCOUNT}:disk/d-1`, false],
      ['acs:ens:*:2000000000000002:snapshot/*', SNAPSHOT, false],
      ['acs:ens:*:*:snapshot/s-?bc', SNAPSHOT, true],
      ['acs:ens:*:*:snapshot/s-?c', SNAPSHOT, false],
      ['acs:ens:*:*:snapshot/s-???', SNAPSHOT, true],
      ['acs:ens:*:*:snapshot/*b*', SNAPSHOT, true],
      ['acs:ens:*:?000000000000001:snap*/*-a?c', SNAPSHOT, true],
      ['acs:ens:*:*:snapshot/*b*b', SNAPSHOT, false],
      ['acs:ens:*:*:Snapshot/*', SNAPSHOT, false],
      [['acs:ens:*:*:disk/*', 'acs:ens:*:*:snapshot/s-abc'], SNAPSHOT, true],
      // An operation without resource-level authorization: only patterns that cover every resource.
      [`acs:ens:*:${ACCOUNT}:snapshot/*`, ALL, false],
      ['acs:ens:*:*:snapshot/s-abc', ALL, false],
    ];
    for (const [pattern, resource, expected] of cases) {
      const decision = decide(allow({ Resource: pattern }), { resource });
      assert.equal(
        decision,
        expected ? 'allow' : 'implicit-deny',
        `${JSON.stringify(pattern)} vs ${resource}`,
      );
    }
  });

  it('gives the right answer when requests alternate (patterns and addresses remember their last one)', () => {
    const shared = `acs:ens:*:${ACCOUNT}:snapshot/*`;
    const a = policy(allow({ Resource: shared }));
    const b = policy(
      allow({
        Resource: [shared, 'acs:ens:*:*:disk/*'],
        Condition: { IpAddress: { 'acs:SourceIp': '192.0.2.0/24' } },
      }),
    );
    const disk = `acs:ens:*:${ACCOUNT}:disk/d-1`;
    for (let i = 0; i < 3; i++) {
      assert.equal(a.evaluate(ctx({ resource: SNAPSHOT })), 'allow');
      assert.equal(b.evaluate(ctx({ resource: disk })), 'allow');
      assert.equal(a.evaluate(ctx({ resource: disk })), 'none');
      assert.equal(b.evaluate(ctx({ resource: disk, sourceIp: '198.51.100.1' })), 'none');
      assert.equal(b.evaluate(ctx({ resource: SNAPSHOT })), 'allow');
    }
  });

  it('stays right past the number of actions a policy remembers', () => {
    const p = policy(allow({ Action: 'ens:Create*' }));
    for (let i = 0; i < 300; i++) {
      assert.equal(p.evaluate(ctx({ action: `ens:Create${i}` })), 'allow');
      assert.equal(p.evaluate(ctx({ action: `ens:Delete${i}` })), 'none');
    }
    assert.equal(p.evaluate(ctx()), 'allow');
  });
});

describe('10 policies of 10 statements (the workload of the authorization benchmark; no timing here)', () => {
  const ACTIONS = ['CreateSnapshot', 'DescribeSnapshots', 'DeleteSnapshot', 'CreateDisk', 'DescribeDisks'];
  const policies = Array.from({ length: 10 }, (_, p) =>
    policy(
      ...Array.from({ length: 10 }, (_, s) => ({
        Effect: p === 9 && s === 9 ? 'Deny' : 'Allow',
        Action: p === 9 && s === 9 ? 'ens:DeleteSnapshot' : [`ens:${ACTIONS[(p + s) % 5]}`, 'ens:Describe*'],
        Resource: [`acs:ens:*:${ACCOUNT}:snapshot/s-${p}${s}*`, `acs:ens:*:${ACCOUNT}:*`],
        Condition: {
          IpAddress: { 'acs:SourceIp': ['192.0.2.0/24', '2001:db8::/32'] },
          DateLessThan: { 'acs:CurrentTime': '2027-01-01T00:00:00+08:00' },
          Bool: { 'acs:SecureTransport': 'true' },
        },
      })),
    ),
  );

  it('decides every request as the statements say', () => {
    for (let i = 0; i < 1000; i++) {
      const action = `ens:${ACTIONS[i % 5]}`;
      const inside = ctx({ action, sourceIp: i % 2 ? '192.0.2.7' : '2001:db8::7' });
      assert.equal(
        evaluatePolicies(policies, inside),
        action === 'ens:DeleteSnapshot' ? 'explicit-deny' : 'allow',
      );
      assert.equal(evaluatePolicies(policies, { ...inside, sourceIp: '198.51.100.7' }), 'implicit-deny');
      assert.equal(evaluatePolicies(policies, { ...inside, secureTransport: false }), 'implicit-deny');
      assert.equal(evaluatePolicies(policies, { ...inside, action: 'ens:ResetDisk' }), 'implicit-deny');
    }
  });
});

describe('policy conditions', () => {
  it('String operators: exact, ignoring case, with wildcards, and their negations', () => {
    const ip = 'acs:SourceIp';
    assert.equal(met({ StringEquals: { [ip]: '192.0.2.10' } }), true);
    assert.equal(met({ StringEquals: { [ip]: ['198.51.100.1', '192.0.2.10'] } }), true, 'any value');
    assert.equal(met({ StringEquals: { [ip]: '192.0.2.1' } }), false);
    assert.equal(met({ StringNotEquals: { [ip]: '192.0.2.1' } }), true);
    assert.equal(
      met({ StringNotEquals: { [ip]: ['192.0.2.1', '192.0.2.10'] } }),
      false,
      'none of the values',
    );
    assert.equal(met({ StringEquals: { 'acs:SecureTransport': 'TRUE' } }), false, 'case-sensitive');
    assert.equal(met({ StringEqualsIgnoreCase: { 'acs:SecureTransport': 'TRUE' } }), true);
    assert.equal(met({ StringEqualsIgnoreCase: { 'acs:SecureTransport': 'FALSE' } }), false);
    assert.equal(met({ StringNotEqualsIgnoreCase: { 'acs:SecureTransport': 'False' } }), true);
    assert.equal(met({ StringNotEqualsIgnoreCase: { 'acs:SecureTransport': 'True' } }), false);
    assert.equal(met({ StringLike: { [ip]: '192.0.2.*' } }), true);
    assert.equal(met({ StringLike: { [ip]: '192.0.2.1?' } }), true);
    assert.equal(met({ StringLike: { [ip]: '10.*' } }), false);
    assert.equal(met({ StringNotLike: { [ip]: '10.*' } }), true);
    assert.equal(met({ StringNotLike: { [ip]: '*.10' } }), false);
    // The request time as text, and an IPv4-mapped caller as its IPv4 address.
    assert.equal(met({ StringLike: { 'acs:CurrentTime': '2026-01-01T00:*Z' } }), true);
    assert.equal(met({ StringEquals: { 'acs:MFAPresent': 'false' } }), true);
    assert.equal(met({ StringEquals: { [ip]: '192.0.2.10' } }, { sourceIp: '::ffff:192.0.2.10' }), true);
    assert.equal(met({ StringEquals: { [ip]: '192.0.2.10' } }, { sourceIp: '::ffff:c000:20a' }), true);
    assert.equal(met({ StringEquals: { [ip]: 'fe80::1' } }, { sourceIp: 'fe80::1%eth0' }), true);
    assert.equal(met({ StringEquals: { [ip]: '2001:db8::1' } }, { sourceIp: '2001:db8::1' }), true);
  });

  it('Numeric operators: values are checked; no request key is a number, so only negations hold', () => {
    for (const op of [
      'NumericEquals',
      'NumericLessThan',
      'NumericLessThanEquals',
      'NumericGreaterThan',
      'NumericGreaterThanEquals',
    ]) {
      assert.equal(met({ [op]: { 'ens:DiskSize': ['20', '-1.5', 40] } }), false, op);
    }
    assert.equal(met({ NumericNotEquals: { 'ens:DiskSize': '20' } }), true);
  });

  it('Date operators compare the request time, offsets included', () => {
    const t = 'acs:CurrentTime';
    assert.equal(met({ DateLessThan: { [t]: '2026-01-01T00:00:01Z' } }), true);
    assert.equal(met({ DateLessThan: { [t]: '2026-01-01T00:00:00Z' } }), false);
    assert.equal(
      met({ DateLessThan: { [t]: ['2025-01-01T00:00:00Z', '2027-01-01T00:00:00Z'] } }),
      true,
      'any',
    );
    assert.equal(met({ DateLessThanEquals: { [t]: '2026-01-01T08:00:00+08:00' } }), true);
    assert.equal(met({ DateLessThanEquals: { [t]: '2025-12-31T23:59:59.999Z' } }), false);
    assert.equal(met({ DateGreaterThan: { [t]: '2019-08-12T17:00:00+08:00' } }), true);
    assert.equal(met({ DateGreaterThan: { [t]: '2026-01-01T00:00:00Z' } }), false);
    assert.equal(met({ DateGreaterThanEquals: { [t]: '2025-12-31T19:00:00-05:00' } }), true);
    assert.equal(met({ DateGreaterThanEquals: { [t]: '2026-01-01T00:00:00.001Z' } }), false);
    assert.equal(met({ DateEquals: { [t]: '2026-01-01T08:00:00+08:00' } }), true);
    assert.equal(met({ DateEquals: { [t]: '2026-01-01T00:00:00.5Z' } }), false);
    assert.equal(met({ DateNotEquals: { [t]: '2026-01-01T00:00:00.5Z' } }), true);
    assert.equal(met({ DateNotEquals: { [t]: '2026-01-01T00:00:00.000000Z' } }), false);
  });

  it('Bool: acs:SecureTransport as the request came; acs:MFAPresent always false', () => {
    const https = { Bool: { 'acs:SecureTransport': 'true' } };
    assert.equal(met(https), true);
    assert.equal(met(https, { secureTransport: false }), false);
    assert.equal(
      met({ Bool: { 'acs:SecureTransport': false } }, { secureTransport: false }),
      true,
      'JSON boolean',
    );
    assert.equal(
      met({ Bool: { 'acs:SecureTransport': ['true', 'false'] } }, { secureTransport: false }),
      true,
    );
    assert.equal(met({ Bool: { 'acs:MFAPresent': 'true' } }), false);
    assert.equal(met({ Bool: { 'acs:MFAPresent': 'false' } }), true);
  });

  it('IpAddress and NotIpAddress: IPv4 and IPv6 blocks, IPv4-mapped callers as IPv4', () => {
    const ip = (values: string | string[], sourceIp: string, op = 'IpAddress') =>
      met({ [op]: { 'acs:SourceIp': values } }, { sourceIp });
    assert.equal(ip('192.0.2.0/24', '192.0.2.10'), true);
    assert.equal(ip('192.0.2.0/24', '192.0.3.10'), false);
    assert.equal(ip('192.0.2.10', '192.0.2.10'), true, 'a single address');
    assert.equal(ip('192.0.2.10/32', '192.0.2.11'), false);
    assert.equal(ip('192.0.2.128/25', '192.0.2.127'), false);
    assert.equal(ip('0.0.0.0/0', '203.0.113.200'), true);
    assert.equal(ip('10.1.2.3/8', '10.200.0.1'), true, 'host bits in the block are ignored');
    assert.equal(ip(['198.51.100.0/24', '192.0.2.0/24'], '192.0.2.10'), true, 'any block');
    assert.equal(ip('2001:db8::/32', '2001:db8::1'), true);
    assert.equal(ip('2001:db8::/32', '2001:db9::1'), false);
    assert.equal(ip('2001:db8:0:0:8000::/65', '2001:db8::8000:0:0:1'), true);
    assert.equal(ip('2001:db8:0:0:8000::/65', '2001:db8::7fff:0:0:1'), false);
    assert.equal(ip('::1', '::1'), true);
    assert.equal(ip('fe80::/10', 'fe80::1%eth0'), true, 'zone ignored');
    assert.equal(ip('192.0.2.0/24', '::ffff:192.0.2.10'), true, 'mapped caller');
    assert.equal(ip('192.0.2.0/24', '::ffff:c000:20a'), true, 'mapped caller, hex');
    assert.equal(ip('::ffff:192.0.2.0/120', '192.0.2.10'), true, 'mapped block');
    assert.equal(ip('::/0', '192.0.2.10'), false, 'IPv6 blocks hold IPv6 callers only');
    assert.equal(ip('0.0.0.0/0', '2001:db8::1'), false);
    assert.equal(ip('192.0.2.0/24', '192.0.2.10', 'NotIpAddress'), false);
    assert.equal(ip('192.0.2.0/24', '198.51.100.1', 'NotIpAddress'), true);
    assert.equal(ip(['198.51.100.0/24', '192.0.2.0/24'], '192.0.2.10', 'NotIpAddress'), false, 'in none');
    assert.equal(ip('0.0.0.0/0', 'not an address'), false, 'an unreadable caller address is absent');
    assert.equal(ip('0.0.0.0/0', 'not an address', 'NotIpAddress'), true);
  });

  it('all operators and keys must hold (AND); any value of a key will do (OR)', () => {
    const both = {
      IpAddress: { 'acs:SourceIp': '192.0.2.0/24' },
      Bool: { 'acs:SecureTransport': 'true' },
    };
    assert.equal(met(both), true);
    assert.equal(met(both, { secureTransport: false }), false);
    assert.equal(met(both, { sourceIp: '198.51.100.1' }), false);
    const twoKeys = { StringEquals: { 'acs:SourceIp': '192.0.2.10', 'acs:SecureTransport': 'true' } };
    assert.equal(met(twoKeys), true);
    assert.equal(met(twoKeys, { secureTransport: false }), false);
  });

  it('a key the request does not carry satisfies no positive operator and every negated one', () => {
    const vpc = 'acs:SourceVpc';
    assert.equal(met({ StringEquals: { [vpc]: 'vpc-1' } }), false);
    assert.equal(met({ StringLike: { [vpc]: '*' } }), false);
    assert.equal(met({ StringNotEquals: { [vpc]: 'vpc-1' } }), true);
    assert.equal(met({ StringNotLike: { [vpc]: 'vpc-*' } }), true);
    assert.equal(met({ IpAddress: { 'ens:PeerIp': '0.0.0.0/0' } }), false);
    assert.equal(met({ NotIpAddress: { 'ens:PeerIp': '0.0.0.0/0' } }), true);
    assert.equal(met({ DateLessThan: { 'ens:ExpiryTime': '2099-01-01T00:00:00Z' } }), false);
    assert.equal(met({ DateNotEquals: { 'ens:ExpiryTime': '2099-01-01T00:00:00Z' } }), true);
    assert.equal(met({ Bool: { 'ens:Encrypted': 'true' } }), false);
    // So "deny unless from this VPC" denies every ensnap request (they come from no VPC).
    assert.equal(decide(deny({ Condition: { StringNotEquals: { [vpc]: 'vpc-1' } } })), 'explicit-deny');
  });

  it('condition key names are case-insensitive', () => {
    assert.equal(met({ IpAddress: { 'ACS:sourceip': '192.0.2.0/24' } }), true);
    assert.equal(met({ Bool: { 'acs:securetransport': 'true' } }, { secureTransport: false }), false);
  });
});

describe('policy validation', () => {
  const statement = allow();

  it('accepts the reference examples, a single statement object and short forms', () => {
    parsePolicyDocument(
      JSON.stringify({
        Version: '1',
        Statement: [
          {
            Effect: 'Allow',
            Action: ['ens:CreateSnapshot', 'ens:DescribeSnapshots'],
            Resource: '*',
            Condition: { IpAddress: { 'acs:SourceIp': ['192.0.2.0/24'] } },
          },
        ],
      }),
    );
    const single = parsePolicyDocument(JSON.stringify({ Version: '1', Statement: statement }));
    assert.deepEqual(single, {
      Version: '1',
      Statement: [{ Effect: 'Allow', Action: ['ens:CreateSnapshot'], Resource: ['*'] }],
    });
    const parsed = parsePolicyDocument(
      JSON.stringify(
        doc({
          Effect: 'Deny',
          NotAction: 'ens:Describe*',
          Resource: ['acs:ram::1000000000000001:role/ops', 'acs:ens:*:*:snapshot/*'],
          Condition: { Bool: { 'acs:SecureTransport': false }, NumericLessThan: { 'ens:Size': 5 } },
        }),
      ),
    );
    assert.deepEqual(parsed.Statement[0], {
      Effect: 'Deny',
      NotAction: ['ens:Describe*'],
      Resource: ['acs:ram::1000000000000001:role/ops', 'acs:ens:*:*:snapshot/*'],
      Condition: { Bool: { 'acs:SecureTransport': ['false'] }, NumericLessThan: { 'ens:Size': ['5'] } },
    });
  });

  it('limits a document to 6144 characters (code points)', () => {
    const padded = (length: number) => {
      const base = JSON.stringify(doc(statement));
      return base + ' '.repeat(length - base.length);
    };
    parsePolicyDocument(padded(6144));
    refuses(padded(6145), 'InvalidParameter.PolicyDocument.Length', 'beyond the length limit');
    // 6144 characters, more UTF-16 units: within the limit.
    const value = '😀'.repeat(3100);
    const text = JSON.stringify(withCondition({ StringEquals: { 'ens:Note': value } }));
    assert.ok(text.length > 6144 && [...text].length <= 6144);
    parsePolicyDocument(text);
  });

  it('refuses a document that is not a JSON object of Version and Statement', () => {
    const cases: [unknown, string][] = [
      ['{"Version": "1",', 'not valid JSON'],
      ['', 'not valid JSON'],
      ['[]', 'must be a JSON object'],
      ['null', 'must be a JSON object'],
      ['"x"', 'must be a JSON object'],
      [{ Version: '1', Statement: [statement], Id: 'x' }, 'unknown element "Id"'],
      [
        { version: '1', Statement: [statement] },
        'unknown element "version" (names are case-sensitive: Version)',
      ],
      [{ Statement: [statement] }, 'Version is missing'],
      [{ Version: '2', Statement: [statement] }, 'Version must be "1", not "2"'],
      [{ Version: 1, Statement: [statement] }, 'Version must be "1", not 1'],
      [{ Version: '1' }, 'Statement is missing'],
      [{ Version: '1', Statement: [] }, 'Statement must be a non-empty array'],
      [{ Version: '1', Statement: 'x' }, 'Statement must be a non-empty array'],
      [{ Version: '1', Statement: ['x'] }, 'Statement[0] must be an object'],
      [{ Version: '1', Statement: [statement, null] }, 'Statement[1] must be an object'],
    ];
    for (const [document, says] of cases) refuses(document, 'MalformedPolicyDocument', says);
  });

  it('refuses statements that break the element rules', () => {
    const cases: [object, string][] = [
      [{ ...statement, Sid: 'x' }, 'Statement[0] has an unknown element "Sid"'],
      [{ ...statement, effect: 'Allow' }, '(names are case-sensitive: Effect)'],
      [{ ...statement, NotResource: 'x' }, 'NotResource is not supported'],
      [{ ...statement, Principal: { RAM: '*' } }, 'Principal belongs in trust policies'],
      [{ Action: 'ens:X', Resource: '*' }, 'Statement[0]: Effect is missing'],
      [{ ...statement, Effect: 'allow' }, 'Statement[0].Effect must be "Allow" or "Deny", not "allow"'],
      [{ ...statement, NotAction: 'ens:X' }, 'exactly one of Action and NotAction'],
      [{ Effect: 'Allow', Resource: '*' }, 'exactly one of Action and NotAction'],
      [{ ...statement, Action: [] }, 'Statement[0].Action must be a string or a non-empty array of strings'],
      [{ ...statement, Action: 5 }, 'Statement[0].Action must be a string or a non-empty array'],
      [{ ...statement, Action: ['ens:X', 1] }, 'Statement[0].Action must be a string or a non-empty array'],
      [
        { ...statement, Action: 'CreateSnapshot' },
        'Statement[0].Action[0]: "CreateSnapshot" is not an action',
      ],
      [{ ...statement, Action: ['ens:X', 'ens:'] }, 'Statement[0].Action[1]: "ens:" is not an action'],
      [{ ...statement, Action: 'ens:Create Snapshot' }, 'is not an action'],
      [{ Effect: 'Allow', NotAction: 'ens:a:b', Resource: '*' }, 'Statement[0].NotAction[0]'],
      [{ Effect: 'Allow', Action: 'ens:X' }, 'Statement[0]: Resource is missing'],
      [{ ...statement, Resource: [] }, 'Statement[0].Resource must be a string or a non-empty array'],
      [
        { ...statement, Resource: 'snapshot/s-1' },
        'Statement[0].Resource[0]: "snapshot/s-1" is not "*" or an ARN',
      ],
      [{ ...statement, Resource: ['*', 'acs:ens:*:*'] }, 'Statement[0].Resource[1]'],
      [{ ...statement, Resource: 'acs::*:*:x' }, 'is not "*" or an ARN'],
    ];
    for (const [s, says] of cases) refuses(doc(s), 'MalformedPolicyDocument', says);
    // The index names the statement.
    refuses(
      { Version: '1', Statement: [statement, { ...statement, Effect: 'Maybe' }] },
      'MalformedPolicyDocument',
      'Statement[1].Effect',
    );
  });

  it('refuses conditions with unknown operators, malformed keys or values, and mismatched types', () => {
    const at = 'Statement[0].Condition';
    const cases: [unknown, string][] = [
      ['x', `${at} must be a non-empty object of condition operators`],
      [{}, `${at} must be a non-empty object of condition operators`],
      [[], `${at} must be a non-empty object of condition operators`],
      [{ IpAddress: {} }, `${at}.IpAddress must be a non-empty object of condition keys`],
      [{ IpAddress: '10.0.0.0/8' }, `${at}.IpAddress must be a non-empty object of condition keys`],
      [
        { IpAddress: { 'acs:SourceIp': [] } },
        `${at}.IpAddress.acs:SourceIp must be a string or a non-empty array`,
      ],
      [{ IpAddress: { 'acs:SourceIp': null } }, `${at}.IpAddress.acs:SourceIp must be a string`],
      [{ IpAddress: { 'acs:SourceIp': [{}] } }, `${at}.IpAddress.acs:SourceIp must be a string`],
      [{ IpAddr: { 'acs:SourceIp': '10.0.0.0/8' } }, `${at}: unknown condition operator "IpAddr"`],
      [{ ipaddress: { 'acs:SourceIp': '10.0.0.0/8' } }, '(names are case-sensitive: IpAddress)'],
      [{ NotStringEquals: { 'acs:SourceIp': 'x' } }, 'unknown condition operator "NotStringEquals"'],
      [{ StringEqualsIfExists: { 'acs:SourceIp': 'x' } }, 'unknown condition operator'],
      [{ IpAddress: { SourceIp: '10.0.0.0/8' } }, `${at}.IpAddress: "SourceIp" is not a condition key`],
      [{ IpAddress: { 'acs:Source Ip': '10.0.0.0/8' } }, 'is not a condition key'],
    ];
    for (const [condition, says] of cases) refuses(withCondition(condition), 'MalformedPolicyDocument', says);
    // A client's "__proto__" is an own property once JSON.parse has read it: an unknown operator.
    refuses(
      '{"Version":"1","Statement":[{"Effect":"Allow","Action":"ens:X","Resource":"*","Condition":{"__proto__":{"acs:SourceIp":"1.2.3.4"}}}]}',
      'MalformedPolicyDocument',
      'unknown condition operator "__proto__"',
    );
    const bad: [string, string, unknown, string][] = [
      ['IpAddress', 'acs:SourceIp', '10.0.0.256', '"10.0.0.256" is not an IP address or CIDR block'],
      ['IpAddress', 'acs:SourceIp', '10.0.0.0/33', 'is not an IP address or CIDR block'],
      ['IpAddress', 'acs:SourceIp', '10.0.0.0/', 'is not an IP address or CIDR block'],
      ['IpAddress', 'acs:SourceIp', '010.0.0.1', 'is not an IP address or CIDR block'],
      ['IpAddress', 'acs:SourceIp', '10.0.0', 'is not an IP address or CIDR block'],
      ['NotIpAddress', 'acs:SourceIp', '2001:db8::/129', 'is not an IP address or CIDR block'],
      ['IpAddress', 'acs:SourceIp', '2001:db8:::1', 'is not an IP address or CIDR block'],
      ['IpAddress', 'acs:SourceIp', '1:2:3:4:5:6:7:8:9', 'is not an IP address or CIDR block'],
      ['IpAddress', 'acs:SourceIp', '::ffff:10.0.0.0/64', 'is not an IP address or CIDR block'],
      ['IpAddress', 'acs:SourceIp', 'fe80::1%eth0', 'is not an IP address or CIDR block'],
      ['DateLessThan', 'acs:CurrentTime', '2019-08-12 17:00:00', 'is not an ISO 8601 date and time'],
      ['DateLessThan', 'acs:CurrentTime', '2019-08-12T17:00:00', 'is not an ISO 8601 date and time'],
      ['DateLessThan', 'acs:CurrentTime', '2019-02-30T00:00:00Z', 'is not an ISO 8601 date and time'],
      ['DateLessThan', 'acs:CurrentTime', '2019-08-12T24:00:00Z', 'is not an ISO 8601 date and time'],
      ['DateLessThan', 'acs:CurrentTime', '2019-08-12T17:00:00+0800', 'is not an ISO 8601 date and time'],
      ['DateEquals', 'acs:CurrentTime', '2019-08-12', 'is not an ISO 8601 date and time'],
      ['DateEquals', 'acs:CurrentTime', '2019-08-12T17:00:00+24:00', 'is not an ISO 8601 date and time'],
      ['DateEquals', 'acs:CurrentTime', '2019-08-12T17:00:00+08:60', 'is not an ISO 8601 date and time'],
      ['DateEquals', 'acs:CurrentTime', '0099-08-12T17:00:00Z', 'is not an ISO 8601 date and time'],
      ['Bool', 'acs:SecureTransport', 'True', '"True" is not "true" or "false"'],
      ['Bool', 'acs:SecureTransport', 'yes', 'is not "true" or "false"'],
      ['NumericEquals', 'ens:Size', 'ten', '"ten" is not a decimal number'],
      ['NumericEquals', 'ens:Size', '1e3', 'is not a decimal number'],
      [
        'IpAddress',
        'acs:CurrentTime',
        '10.0.0.0/8',
        'IpAddress does not apply to acs:CurrentTime, which is a date',
      ],
      ['DateLessThan', 'acs:SourceIp', '2019-08-12T17:00:00Z', 'DateLessThan does not apply to acs:SourceIp'],
      ['Bool', 'acs:SourceIp', 'true', 'Bool does not apply to acs:SourceIp, which is an IP address'],
      [
        'NotIpAddress',
        'acs:SecureTransport',
        '10.0.0.0/8',
        'IpAddress does not apply to acs:SecureTransport',
      ],
      ['NumericEquals', 'acs:SourceIp', '5', 'NumericEquals does not apply to acs:SourceIp'],
    ];
    for (const [operator, key, value, says] of bad) {
      refuses(
        withCondition({ [operator]: { [key]: value } }),
        'MalformedPolicyDocument',
        `${at}.${operator}.${key}: `,
      );
      refuses(withCondition({ [operator]: { [key]: value } }), 'MalformedPolicyDocument', says);
    }
  });

  it('messages never echo much of the input', () => {
    const huge = `ens:${'x'.repeat(2000)} y`;
    const documents = [
      doc({ ...statement, Action: huge }),
      doc({ ...statement, [huge]: 1 }),
      withCondition({ [huge]: { 'acs:SourceIp': '10.0.0.0/8' } }),
      withCondition({ [huge]: {} }),
      withCondition({ IpAddress: { [huge]: '10.0.0.0/8' } }),
      withCondition({ IpAddress: { [huge]: [] } }),
      withCondition({ IpAddress: { 'ens:x': huge } }),
      withCondition({ StringLike: { [`ens:${'x'.repeat(2000)}`]: [] } }),
    ];
    for (const document of documents) {
      assert.throws(
        () => parsePolicyDocument(JSON.stringify(document)),
        (e: unknown) => e instanceof ApiError && e.message.length < 250 && e.message.includes('…'),
      );
    }
  });

  it('compiles what it parses: the normalized document compiles again to the same decisions', () => {
    const parsed = parsePolicyDocument(
      JSON.stringify(doc(allow({ Condition: { IpAddress: { 'acs:SourceIp': '192.0.2.0/24' } } }))),
    );
    const again = parsePolicyDocument(JSON.stringify(parsed));
    assert.deepEqual(again, parsed);
    assert.equal(compilePolicy(again).evaluate(ctx()), 'allow');
    assert.equal(compilePolicy(again).evaluate(ctx({ sourceIp: '198.51.100.1' })), 'none');
  });
});

describe('system policies', () => {
  const system = (name: string) => {
    const found = SYSTEM_POLICIES.find((p) => p.name === name);
    assert.ok(found, name);
    assert.ok(found.description.length > 0);
    return compilePolicy(parsePolicyDocument(found.document));
  };

  it('are the two ENS policies, each a valid document', () => {
    assert.deepEqual(
      SYSTEM_POLICIES.map((p) => p.name),
      ['AliyunENSFullAccess', 'AliyunENSReadOnlyAccess'],
    );
  });

  it('AliyunENSFullAccess allows every ENS action, nothing else', () => {
    const full = [system('AliyunENSFullAccess')];
    assert.equal(evaluatePolicies(full, ctx()), 'allow');
    assert.equal(evaluatePolicies(full, ctx({ action: 'ens:DescribeSnapshots' })), 'allow');
    assert.equal(evaluatePolicies(full, ctx({ action: 'ens:DeleteDisk', resource: SNAPSHOT })), 'allow');
    assert.equal(evaluatePolicies(full, ctx({ action: 'ram:CreateUser' })), 'implicit-deny');
  });

  it('AliyunENSReadOnlyAccess allows Describe*, List* and Get*, not CreateSnapshot', () => {
    const readOnly = [system('AliyunENSReadOnlyAccess')];
    assert.equal(evaluatePolicies(readOnly, ctx({ action: 'ens:DescribeSnapshots' })), 'allow');
    assert.equal(evaluatePolicies(readOnly, ctx({ action: 'ens:ListTagResources' })), 'allow');
    assert.equal(evaluatePolicies(readOnly, ctx({ action: 'ens:GetBucketInfo' })), 'allow');
    assert.equal(evaluatePolicies(readOnly, ctx()), 'implicit-deny');
    assert.equal(evaluatePolicies(readOnly, ctx({ action: 'ens:DeleteSnapshot' })), 'implicit-deny');
  });
});
