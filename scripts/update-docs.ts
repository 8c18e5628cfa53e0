// `npm run docs`: rewrites the generated sections of README.md and docs/errors.md.
import { readFileSync, writeFileSync } from 'node:fs';
import { GENERATED_DOCS, replaceSection } from '../src/operations/coverage.js';

for (const doc of GENERATED_DOCS) {
  const text = readFileSync(doc.file, 'utf8');
  writeFileSync(doc.file, replaceSection(text, doc.section, doc.render()));
  process.stdout.write(`updated ${doc.file} (${doc.section})\n`);
}
