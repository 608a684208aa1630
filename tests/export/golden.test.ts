/**
 * Golden exports of the project's fixture: each format is byte-stable for a fixed document and clock. Run with
 * UPDATE_GOLDEN=1 to write the golden files after an intended change, then read the diff.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import type * as Y from 'yjs';
import { exportDocument, type ExportFormat } from '@marginalia/shared';
import { BASE_URL, DOC_ID, NOW, buildFixture } from './fixture.js';
import { docxParts, expectGolden } from './helpers.js';

let doc: Y.Doc;
beforeAll(async () => {
  doc = await buildFixture();
});
afterAll(() => doc.destroy());

const run = (format: ExportFormat) => exportDocument(doc, format, { docId: DOC_ID, baseUrl: BASE_URL, now: NOW });

describe('golden exports of the fixture', () => {
  test.each(['md', 'html', 'w3c', 'csv', 'json'] as const)(
    '%s is the same as the golden file, and the same on every run',
    async (format) => {
      const first = await run(format);
      const second = await run(format);
      expect(typeof first).toBe('string');
      expect(second).toBe(first);
      expectGolden(`fixture.${format}`, first as string);
    },
  );

  test('docx: every part of the package is the same as the golden file, and the same on every run', async () => {
    const first = docxParts((await run('docx')) as Uint8Array);
    const second = docxParts((await run('docx')) as Uint8Array);
    expect(second).toBe(first);
    expectGolden('fixture.docx.txt', first);
  });

  test('filters: status, tags and authors narrow the threads exported', async () => {
    const ids = async (filter: object) =>
      JSON.parse(
        (await exportDocument(doc, 'json', { docId: DOC_ID, baseUrl: BASE_URL, now: NOW, ...filter })) as string,
      ).threads.map((t: { id: string }) => t.id.slice(-3));
    expect(await ids({ status: 'resolved' })).toEqual(['010']);
    expect((await ids({ status: 'open' })).length).toBe(11);
    expect(await ids({ tags: ['question'] })).toEqual(['020', '060', '110']);
    expect(await ids({ authors: ['eve <script>'] })).toEqual(['080']);
    expect(await ids({ authors: ['user-tom'], tags: ['claim'] })).toEqual(['010', '080', '120']);
  });
});
