// PLACEHOLDER for the policy language, which is written on another branch: at merge time that
// module replaces this file. Only its two exports that the RAM API uses are here, in their
// final form: parsePolicyDocument (validation when a policy is written) and SYSTEM_POLICIES.
import { ApiError } from '../../errors/catalog.js';

export interface PolicyDocument {
  Version: '1';
  Statement: unknown[];
}

/** The document, or MalformedPolicyDocument saying what is wrong with it. */
export function parsePolicyDocument(text: string): PolicyDocument {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new ApiError('MalformedPolicyDocument', 'the document is not valid JSON');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw new ApiError('MalformedPolicyDocument', 'the document is not a JSON object');
  const document = value as Record<string, unknown>;
  if (document.Version !== '1') throw new ApiError('MalformedPolicyDocument', 'Version must be "1"');
  if (!Array.isArray(document.Statement))
    throw new ApiError('MalformedPolicyDocument', 'Statement must be an array');
  return { Version: '1', Statement: document.Statement };
}

/** The built-in policies every account can attach. */
export const SYSTEM_POLICIES: readonly { name: string; description: string; document: string }[] = [
  {
    name: 'AliyunENSFullAccess',
    description: 'Full access to Edge Node Service (ENS)',
    document: JSON.stringify({
      Version: '1',
      Statement: [{ Effect: 'Allow', Action: 'ens:*', Resource: '*' }],
    }),
  },
  {
    name: 'AliyunENSReadOnlyAccess',
    description: 'Read-only access to Edge Node Service (ENS)',
    document: JSON.stringify({
      Version: '1',
      Statement: [{ Effect: 'Allow', Action: ['ens:Describe*', 'ens:List*', 'ens:Get*'], Resource: '*' }],
    }),
  },
];
