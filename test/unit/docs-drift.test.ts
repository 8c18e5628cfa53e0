// The generated tables in the docs must match the code (run `npm run docs` after a change).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { GENERATED_DOCS, replaceSection } from '../../src/operations/coverage.js';
import { ApiError, ERROR_CATALOG, type ErrorKey } from '../../src/errors/catalog.js';

describe('docs drift', () => {
  for (const doc of GENERATED_DOCS) {
    it(`${doc.file}: the ${doc.section} table is up to date`, () => {
      const text = readFileSync(doc.file, 'utf8');
      assert.equal(replaceSection(text, doc.section, doc.render()), text, 'run `npm run docs`');
    });
  }
});

describe('error catalog', () => {
  it('every entry is a 4xx or 5xx with a message, and fills its templates', () => {
    for (const key of Object.keys(ERROR_CATALOG) as ErrorKey[]) {
      const e = new ApiError(key, 'Field');
      assert.ok(e.status >= 400 && e.status < 600, key);
      assert.ok(e.message.length > 0 && !e.message.includes('%s'), key);
      assert.ok(!e.code.includes('%s'), key);
    }
    const invalid = new ApiError('InvalidParameter.%s', 'SnapshotName');
    assert.equal(invalid.code, 'InvalidParameter.SnapshotName');
    assert.equal(invalid.message, 'The specified field SnapshotName invalid. Please check it again.');
    assert.equal(invalid.status, 400);
  });

  it('only the service itself answers 5xx', () => {
    const fiveHundreds = Object.entries(ERROR_CATALOG)
      .filter(([, e]) => e.status >= 500)
      .map(([k]) => k);
    assert.deepEqual(fiveHundreds, ['InternalError', 'StoredDataDamaged', 'StorageFull']);
  });
});
