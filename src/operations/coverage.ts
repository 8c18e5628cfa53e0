// The API coverage table and the error table, rendered from the declarations themselves, so the
// docs cannot drift from the code (a test compares them with README.md and docs/errors.md).
import { ERROR_CATALOG } from '../errors/catalog.js';
import { OPERATIONS } from './catalog.js';

export function coverageTable(): string {
  const rows = OPERATIONS.map((op) => {
    const params = Object.entries(op.params)
      .map(([name, p]) => (p.required ? `**${name}**` : name))
      .join(', ');
    const missing = op.coverage.missing ?? '';
    return `| ${op.action} | ${op.version} | \`${op.ramAction}\` | ${op.coverage.status} | ${params} | ${missing} |`;
  });
  return [
    '| operation | version | RAM action | status | parameters (**required**) | what is missing |',
    '| --- | --- | --- | --- | --- | --- |',
    ...rows,
  ].join('\n');
}

export function errorTable(): string {
  const cell = (text: string) => text.replace(/\|/g, '\\|');
  const rows = Object.entries(ERROR_CATALOG).map(
    ([code, e]) => `| \`${code}\` | ${e.status} | ${cell(e.message)} | ${e.source} | ${cell(e.condition)} |`,
  );
  return [
    '| code | HTTP | message | source | produced by |',
    '| --- | --- | --- | --- | --- |',
    ...rows,
  ].join('\n');
}

/** Replaces what stands between `<!-- name:begin -->` and `<!-- name:end -->` in `text`. */
export function replaceSection(text: string, name: string, content: string): string {
  const begin = `<!-- ${name}:begin -->`;
  const end = `<!-- ${name}:end -->`;
  const from = text.indexOf(begin);
  const to = text.indexOf(end);
  if (from < 0 || to < from) throw new Error(`no ${begin} … ${end} section`);
  return text.slice(0, from + begin.length) + '\n' + content + '\n' + text.slice(to);
}

export const GENERATED_DOCS = [
  { file: 'README.md', section: 'coverage', render: coverageTable },
  { file: 'docs/errors.md', section: 'errors', render: errorTable },
] as const;
