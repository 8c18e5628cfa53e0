// The RAM policy language (reference 4.1-4.3): a document is parsed and validated once, when it is
// written, compiled once into matchers, and evaluated on every call of a RAM user. Conditions are
// in conditions.ts. The choices the reference leaves open are listed in docs/api.md ("RAM policies").
import { ApiError } from '../../errors/catalog.js';
import { caseHint, compileCondition, malformed, short, show, type RequestTest } from './conditions.js';
import { wildcardMatcher } from './wildcard.js';

/** What one request is, as policies see it. */
export interface RequestContext {
  /** The RAM action of the operation, e.g. 'ens:CreateSnapshot'. */
  action: string;
  /**
   * The ARN of what the request acts on, e.g. 'acs:ens:*:1000000000000001:snapshot/s-abc'. Policy
   * Resource patterns are matched against it as text; for an operation without resource-level
   * authorization, pass 'acs:ens:*:<accountId>:*', which "*" and "acs:ens:*:*:*" match but a
   * specific ARN does not (RAM calls such a policy ineffective for the action).
   */
  resource: string;
  /** The caller's IP as the server saw it: IPv4, IPv6, or IPv4-mapped IPv6 ('::ffff:127.0.0.1'). */
  sourceIp: string;
  currentTime: Date;
  secureTransport: boolean;
}

export type Decision = 'allow' | 'explicit-deny' | 'implicit-deny';

/** Condition element: operator → condition key → values (any of which may match). */
export type Condition = Record<string, Record<string, string[]>>;

/** One statement, normalized: single strings become one-element arrays. */
export type Statement = {
  Effect: 'Allow' | 'Deny';
  Resource: string[];
  Condition?: Condition;
} & ({ Action: string[]; NotAction?: never } | { NotAction: string[]; Action?: never });

export interface PolicyDocument {
  Version: '1';
  Statement: Statement[];
}

export interface CompiledPolicy {
  /** 'deny' if a Deny statement matches, else 'allow' if an Allow matches, else 'none' */
  evaluate(ctx: RequestContext): 'allow' | 'deny' | 'none';
}

/** CreatePolicy's limit on PolicyDocument, in characters. */
const MAX_DOCUMENT_LENGTH = 6144;

const DOCUMENT_ELEMENTS = ['Version', 'Statement'];
const STATEMENT_ELEMENTS = ['Effect', 'Action', 'NotAction', 'Resource', 'Condition'];
const ACTION_FORMAT = /^(?:\*|[A-Za-z0-9*?-]+:[A-Za-z0-9_*?-]+)$/;
// acs:<service>:<region>:<account-id>:<relative-id>; region and account may be empty (acs:ram::1:role/x).
const ARN_FORMAT = /^acs:[^:]+:[^:]*:[^:]*:.+$/s;

/**
 * Parses and validates a policy document text; throws ApiError (MalformedPolicyDocument, or
 * InvalidParameter.PolicyDocument.Length over 6144 characters) on any problem, saying where.
 */
export function parsePolicyDocument(text: string): PolicyDocument {
  // Characters are code points; a text within the limit in UTF-16 units is within it in code points.
  if (text.length > MAX_DOCUMENT_LENGTH && [...text].length > MAX_DOCUMENT_LENGTH) {
    throw new ApiError('InvalidParameter.%s.Length', 'PolicyDocument');
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw malformed('the document is not valid JSON');
  }
  if (!isObject(json)) throw malformed('the document must be a JSON object');
  checkElements(json, DOCUMENT_ELEMENTS, 'the document');
  if (json.Version !== '1') {
    throw malformed(
      json.Version === undefined
        ? 'Version is missing (it must be "1")'
        : `Version must be "1", not ${show(json.Version)}`,
    );
  }
  // A single statement object is read as a list of one.
  const statements = isObject(json.Statement) ? [json.Statement] : json.Statement;
  if (!Array.isArray(statements) || statements.length === 0) {
    throw malformed(
      json.Statement === undefined
        ? 'Statement is missing'
        : 'Statement must be a non-empty array of statements',
    );
  }
  const doc: PolicyDocument = {
    Version: '1',
    Statement: statements.map((s, i) => parseStatement(s, `Statement[${i}]`)),
  };
  compilePolicy(doc); // checks what compiling reads: operators, keys and condition values
  return doc;
}

function parseStatement(raw: unknown, where: string): Statement {
  if (!isObject(raw)) throw malformed(`${where} must be an object`);
  if ('NotResource' in raw) {
    throw malformed(`${where}: NotResource is not supported; list the resources in Resource`);
  }
  if ('Principal' in raw) {
    throw malformed(`${where}: Principal belongs in trust policies, not in a permission policy`);
  }
  checkElements(raw, STATEMENT_ELEMENTS, where);
  const effect = raw.Effect;
  if (effect !== 'Allow' && effect !== 'Deny') {
    throw malformed(
      effect === undefined
        ? `${where}: Effect is missing`
        : `${where}.Effect must be "Allow" or "Deny", not ${show(effect)}`,
    );
  }
  if ((raw.Action === undefined) === (raw.NotAction === undefined)) {
    throw malformed(`${where} must have exactly one of Action and NotAction`);
  }
  const actionElement = raw.Action === undefined ? 'NotAction' : 'Action';
  const actions = stringList(raw[actionElement], `${where}.${actionElement}`);
  actions.forEach((action, i) => {
    if (!ACTION_FORMAT.test(action)) {
      throw malformed(
        `${where}.${actionElement}[${i}]: ${show(action)} is not an action (<service>:<ActionName>, such as "ens:CreateSnapshot", or "*")`,
      );
    }
  });
  if (raw.Resource === undefined) throw malformed(`${where}: Resource is missing`);
  const resources = stringList(raw.Resource, `${where}.Resource`);
  resources.forEach((resource, i) => {
    if (resource !== '*' && !ARN_FORMAT.test(resource)) {
      throw malformed(
        `${where}.Resource[${i}]: ${show(resource)} is not "*" or an ARN (acs:<service>:<region>:<account-id>:<resource>)`,
      );
    }
  });
  const statement: Statement =
    actionElement === 'Action'
      ? { Effect: effect, Action: actions, Resource: resources }
      : { Effect: effect, NotAction: actions, Resource: resources };
  if (raw.Condition !== undefined) statement.Condition = parseCondition(raw.Condition, `${where}.Condition`);
  return statement;
}

function parseCondition(raw: unknown, where: string): Condition {
  if (!isObject(raw) || Object.keys(raw).length === 0) {
    throw malformed(`${where} must be a non-empty object of condition operators`);
  }
  // Object.fromEntries, not assignment: a "__proto__" operator or key stays a (refused) name.
  return Object.fromEntries(
    Object.entries(raw).map(([operator, keys]) => {
      if (!isObject(keys) || Object.keys(keys).length === 0) {
        throw malformed(`${where}.${short(operator)} must be a non-empty object of condition keys`);
      }
      const parsed = Object.entries(keys).map(([key, values]) => {
        // Numbers and booleans are read as their JSON text: true is "true", 5 is "5".
        const list = (Array.isArray(values) ? values : [values]).map((v) =>
          typeof v === 'number' || typeof v === 'boolean' ? String(v) : v,
        );
        return [key, stringList(list, `${where}.${short(operator)}.${short(key)}`)];
      });
      return [operator, Object.fromEntries(parsed)];
    }),
  );
}

/** A string or a non-empty array of strings, as an array. */
function stringList(value: unknown, where: string): string[] {
  const list = typeof value === 'string' ? [value] : value;
  if (!Array.isArray(list) || list.length === 0 || !list.every((v) => typeof v === 'string')) {
    throw malformed(`${where} must be a string or a non-empty array of strings`);
  }
  return list as string[];
}

function checkElements(object: Record<string, unknown>, allowed: readonly string[], where: string): void {
  for (const name of Object.keys(object)) {
    if (!allowed.includes(name)) {
      throw malformed(
        `${where} has an unknown element ${show(name)}${caseHint(name, allowed)}; it may have ${allowed.join(', ')}`,
      );
    }
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

// --- compiled form ---

interface CompiledStatement {
  deny: boolean;
  /** Whether the statement covers an action (in lower case): Action lists it, or NotAction does not. */
  covers: (action: string) => boolean;
  /** undefined when Resource has "*" (every resource). */
  resources: ((resource: string) => boolean) | undefined;
  conditions: readonly RequestTest[];
}

/**
 * Distinct actions whose statements a policy remembers. Requests name a few dozen RAM actions; the
 * bound only keeps a caller passing arbitrary strings from growing the cache without end.
 */
const MAX_REMEMBERED_ACTIONS = 256;

class Policy implements CompiledPolicy {
  /** Per action, the statements that cover it, Deny statements first. */
  private readonly byAction = new Map<string, readonly CompiledStatement[]>();

  constructor(private readonly statements: readonly CompiledStatement[]) {}

  evaluate(ctx: RequestContext): 'allow' | 'deny' | 'none' {
    let candidates = this.byAction.get(ctx.action);
    if (candidates === undefined) {
      const action = ctx.action.toLowerCase();
      candidates = this.statements.filter((s) => s.covers(action));
      if (this.byAction.size < MAX_REMEMBERED_ACTIONS) this.byAction.set(ctx.action, candidates);
    }
    // Deny statements come first, so the first statement that applies decides.
    for (let i = 0; i < candidates.length; i++) {
      const s = candidates[i]!;
      if (s.resources !== undefined && !s.resources(ctx.resource)) continue;
      let met = true;
      for (let c = 0; c < s.conditions.length && met; c++) met = s.conditions[c]!(ctx);
      if (met) return s.deny ? 'deny' : 'allow';
    }
    return 'none';
  }
}

/** Compiles a document (as parsePolicyDocument returns it) into its matchers, once. */
export function compilePolicy(doc: PolicyDocument): CompiledPolicy {
  const statements = doc.Statement.map((s, i): CompiledStatement => {
    const where = `Statement[${i}].Condition`;
    const conditions = Object.entries(s.Condition ?? {}).flatMap(([operator, keys]) =>
      Object.entries(keys).map(([key, values]) => compileCondition(operator, key, values, where)),
    );
    // Action values are matched case-insensitively ("in most cases not case-sensitive"); resources exactly.
    const listed = wildcardMatcher((s.Action ?? s.NotAction).map((a) => a.toLowerCase()));
    return {
      deny: s.Effect === 'Deny',
      covers: s.Action === undefined ? (action) => !listed(action) : listed,
      resources: s.Resource.includes('*') ? undefined : wildcardMatcher(s.Resource),
      conditions,
    };
  });
  return new Policy([...statements.filter((s) => s.deny), ...statements.filter((s) => !s.deny)]);
}

/** Explicit deny in any policy wins; else allow if any allows; else implicit deny. */
export function evaluatePolicies(policies: readonly CompiledPolicy[], ctx: RequestContext): Decision {
  let allowed = false;
  for (let i = 0; i < policies.length; i++) {
    const result = policies[i]!.evaluate(ctx);
    if (result === 'deny') return 'explicit-deny';
    if (result === 'allow') allowed = true;
  }
  return allowed ? 'allow' : 'implicit-deny';
}

/**
 * Built-in system policies, with the documents RAM shows for them. The descriptions follow the
 * wording RAM uses for its other products' system policies.
 */
export const SYSTEM_POLICIES: readonly { name: string; description: string; document: string }[] = [
  {
    name: 'AliyunENSFullAccess',
    description: 'Provides full access to Edge Node Service (ENS) via Management Console.',
    document: JSON.stringify(
      { Version: '1', Statement: [{ Action: 'ens:*', Effect: 'Allow', Resource: '*' }] },
      null,
      2,
    ),
  },
  {
    name: 'AliyunENSReadOnlyAccess',
    description: 'Provides read-only access to Edge Node Service (ENS) via Management Console.',
    document: JSON.stringify(
      {
        Version: '1',
        Statement: [{ Action: ['ens:Get*', 'ens:List*', 'ens:Describe*'], Effect: 'Allow', Resource: '*' }],
      },
      null,
      2,
    ),
  },
];
