/**
 * The import dialog's reading of a file (client/src/dialogs/annotationFile.ts): not JSON is refused with a reason;
 * a Marginalia dump and the W3C shapes the server imports are told apart and counted; other JSON is left to the user.
 */
import { describe, expect, test } from '@jest/globals';
import { readAnnotationFile } from '../../client/src/dialogs/annotationFile.js';

const annotation = (id: string) => ({ '@context': 'http://www.w3.org/ns/anno.jsonld', id, type: 'Annotation' });

describe('reading an annotation file', () => {
  test('text that is not JSON is refused, saying so', () => {
    const read = readAnnotationFile('{"items": [');
    expect(read.ok).toBe(false);
    if (!read.ok) expect(read.error).toMatch(/^This file is not JSON \(/);
  });

  test('a Marginalia dump is json, counted by threads (a byte-order mark is skipped)', () => {
    const read = readAnnotationFile(
      `\uFEFF${JSON.stringify({ format: 'marginalia-dump', version: 1, threads: [{}, {}] })}`,
    );
    expect(read).toMatchObject({ ok: true, detected: 'json', summary: 'a Marginalia JSON export with 2 threads' });
  });

  test('W3C collections, pages, single annotations and lists are w3c, counted by annotations', () => {
    const collection = {
      '@context': 'http://www.w3.org/ns/anno.jsonld',
      type: 'AnnotationCollection',
      first: {
        type: 'AnnotationPage',
        items: [annotation('a'), annotation('b')],
        next: { type: 'AnnotationPage', items: [annotation('c')] },
      },
    };
    expect(readAnnotationFile(JSON.stringify(collection))).toMatchObject({
      detected: 'w3c',
      summary: 'a W3C AnnotationCollection of 3 annotations',
    });
    expect(readAnnotationFile(JSON.stringify({ type: 'AnnotationPage', items: [annotation('a')] }))).toMatchObject({
      detected: 'w3c',
      summary: 'a W3C AnnotationPage of 1 annotation',
    });
    expect(readAnnotationFile(JSON.stringify({ ...annotation('a'), type: ['Annotation', 'Note'] }))).toMatchObject({
      detected: 'w3c',
    });
    expect(readAnnotationFile(JSON.stringify([annotation('a'), annotation('b')]))).toMatchObject({
      detected: 'w3c',
      summary: 'a list of 2 annotations (W3C)',
    });
  });

  test('other JSON is read but not guessed', () => {
    expect(readAnnotationFile('{"hello": "world"}')).toMatchObject({
      ok: true,
      detected: null,
      data: { hello: 'world' },
    });
    expect(readAnnotationFile('[1, 2]')).toMatchObject({ ok: true, detected: null });
    expect(readAnnotationFile('null')).toMatchObject({ ok: true, detected: null });
  });
});
