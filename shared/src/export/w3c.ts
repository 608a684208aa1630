/**
 * W3C Web Annotation export: one AnnotationCollection (JSON-LD, http://www.w3.org/ns/anno.jsonld) with its first and
 * only AnnotationPage. Each thread is an Annotation (motivation commenting) whose bodies are its first comment and
 * one TextualBody per tag (purpose tagging, with the tag's colour as `schema:color`), targeting the document by TextQuoteSelector and TextPositionSelector
 * (offsets into GET …/text). Each further comment is an Annotation with motivation replying that targets its
 * thread's annotation. Ids are the REST URLs of the threads and comments, so an import can reuse them.
 *
 * A thread's status has no Web Annotation term; it is given with schema.org's actionStatus (the `schema:` prefix
 * is part of the anno.jsonld context): ActiveActionStatus while open, CompletedActionStatus once resolved.
 */
import { isoTime, tagColor, visibleComments, type AnnotatedArticle, type AnnotatedThread } from './annotated.js';
import type { Comment, TagDefinition } from '../schema.js';

export const ANNO_CONTEXT = 'http://www.w3.org/ns/anno.jsonld';
export const STATUS_OPEN = 'schema:ActiveActionStatus';
export const STATUS_RESOLVED = 'schema:CompletedActionStatus';

export interface W3cOptions {
  /** Where the server is, e.g. https://marginalia.example.org (no trailing slash). */
  baseUrl: string;
  docId: string;
  now: number;
}

export interface W3cUrls {
  document: string;
  collection: string;
  thread(threadId: string): string;
  comment(threadId: string, commentId: string): string;
}

export function w3cUrls({ baseUrl, docId }: Pick<W3cOptions, 'baseUrl' | 'docId'>): W3cUrls {
  const base = baseUrl.replace(/\/+$/, '');
  const doc = encodeURIComponent(docId);
  const api = `${base}/api/documents/${doc}`;
  return {
    document: `${base}/d/${doc}`,
    collection: `${api}/export?format=w3c`,
    thread: (t) => `${api}/threads/${t}`,
    comment: (t, c) => `${api}/threads/${t}/comments/${c}`,
  };
}

/** A Marginalia author as a W3C creator; `import:` authors (from an earlier import) keep the id they came with. */
export function creatorOf(c: Comment): { id: string; type: 'Person'; name: string } {
  const id = c.authorId.startsWith('import:')
    ? c.authorId.slice('import:'.length)
    : `urn:marginalia:user:${encodeURIComponent(c.authorId)}`;
  return { id, type: 'Person', name: c.authorName || c.authorId };
}

function stamps(c: Comment) {
  return { created: isoTime(c.createdAt), ...(c.editedAt !== null ? { modified: isoTime(c.editedAt) } : {}) };
}

function textBody(c: Comment, id: string) {
  return {
    id,
    type: 'TextualBody',
    purpose: 'commenting',
    value: c.body,
    format: 'text/plain',
    creator: creatorOf(c),
    ...stamps(c),
  };
}

/**
 * A tag as a tagging body. Its colour and description travel as schema.org's `color` and `description` (the
 * `schema:` prefix is in the anno.jsonld context), so an import into another document keeps the tag's look.
 */
function taggingBody(tag: string, vocabulary: Record<string, TagDefinition>): object {
  const def = vocabulary[tag];
  return {
    type: 'TextualBody',
    purpose: 'tagging',
    value: tag,
    ...(def ? { 'schema:color': tagColor(vocabulary, tag) } : {}),
    ...(def?.description ? { 'schema:description': def.description } : {}),
  };
}

function threadAnnotations(t: AnnotatedThread, urls: W3cUrls, vocabulary: Record<string, TagDefinition>): object[] {
  const [first, ...replies] = visibleComments(t);
  const selector: object[] = [
    { type: 'TextQuoteSelector', exact: t.passage.exact, prefix: t.passage.prefix, suffix: t.passage.suffix },
  ];
  if (t.start !== null && t.end !== null) selector.push({ type: 'TextPositionSelector', start: t.start, end: t.end });
  const id = urls.thread(t.id);
  const creator = first
    ? creatorOf(first)
    : { id: `urn:marginalia:user:${encodeURIComponent(t.createdBy)}`, type: 'Person', name: t.createdBy };
  const annotation = {
    id,
    type: 'Annotation',
    motivation: 'commenting',
    creator,
    created: isoTime(t.createdAt),
    ...(first?.editedAt != null ? { modified: isoTime(first.editedAt) } : {}),
    body: [
      ...(first ? [textBody(first, urls.comment(t.id, first.id))] : []),
      ...t.tags.map((tag) => taggingBody(tag, vocabulary)),
    ],
    target: { source: urls.document, selector },
    'schema:actionStatus': t.status === 'resolved' ? STATUS_RESOLVED : STATUS_OPEN,
  };
  return [
    annotation,
    ...replies.map((c) => ({
      id: urls.comment(t.id, c.id),
      type: 'Annotation',
      motivation: 'replying',
      creator: creatorOf(c),
      ...stamps(c),
      body: { type: 'TextualBody', value: c.body, format: 'text/plain' },
      target: id,
    })),
  ];
}

export function exportW3c(article: AnnotatedArticle, options: W3cOptions): string {
  const urls = w3cUrls(options);
  const items = article.threads.flatMap((t) => threadAnnotations(t, urls, article.vocabulary));
  const collection = {
    '@context': ANNO_CONTEXT,
    id: urls.collection,
    type: 'AnnotationCollection',
    label: article.meta.title,
    total: items.length,
    generator: { type: 'Software', name: 'Marginalia' },
    generated: isoTime(options.now),
    first: { id: `${urls.collection}#page-1`, type: 'AnnotationPage', startIndex: 0, items },
  };
  return JSON.stringify(collection, null, 2) + '\n';
}
