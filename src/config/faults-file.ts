// The fault rules file (ENSNAP_FAULTS_FILE): a JSON list of rules, each with AddFaultRule's
// parameters as fields. Its rules are checked by the fault service; here only the file's shape.
import { readFileSync } from 'node:fs';
import { ConfigError } from './config.js';

export function readFaultRulesFile(file: string): Record<string, unknown>[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    throw new ConfigError(`ENSNAP_FAULTS_FILE ${file}: ${(error as Error).message}`);
  }
  if (
    !Array.isArray(parsed) ||
    !parsed.every((r) => typeof r === 'object' && r !== null && !Array.isArray(r))
  )
    throw new ConfigError(`ENSNAP_FAULTS_FILE ${file}: expected a JSON list of rule objects`);
  return parsed as Record<string, unknown>[];
}
