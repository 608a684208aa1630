/**
 * Reading W3C Web Annotations — ours and other tools' (Hypothesis and the like): an AnnotationCollection with its
 * first page inline, an AnnotationPage, a single Annotation, or an array of them.
 *
 * An annotation with a TextQuoteSelector and/or TextPositionSelector becomes a thread; its commenting bodies (a
 * TextualBody without purpose, or with purpose commenting, or `bodyValue`) become its comments and its tagging bodies
 * its tags. An annotation with motivation replying whose target is another annotation becomes a reply in that
 * annotation's thread. Ids: a Marginalia thread/comment URL, `urn:uuid:` or bare UUID is kept; any other id gives a
 * stable derived UUID, so importing the same collection twice finds its threads already there.
 */
import { importedId, nameUuid } from './ids.js';
import {
  ImportFormatError,
  asArray,
  importedAuthorId,
  isObject,
  parseTime,
  str,
  type ImportPlan,
  type PlannedComment,
  type PlannedThread,
} from './import-plan.js';
import { STATUS_RESOLVED } from './w3c.js';
import type { TagDefinition } from '../schema.js';

type Json = Record<string, unknown>;

const typesOf = (x: Json): string[] => asArray(x.type).filter((t): t is string => typeof t === 'string');

/** The annotations of whatever W3C shape was given. */
function annotationsOf(input: unknown): unknown[] {
  if (Array.isArray(input)) return input;
  if (!isObject(input))
    throw new ImportFormatError('expected a W3C AnnotationCollection, AnnotationPage or Annotation (a JSON object)');
  const types = typesOf(input);
  if (types.includes('AnnotationCollection')) {
    const items: unknown[] = [];
    let page: unknown = input.first;
    const seen = new Set<unknown>();
    while (page !== undefined && page !== null && !seen.has(page)) {
      seen.add(page);
      if (!isObject(page)) {
        throw new ImportFormatError(
          'the collection\'s pages must be inline: give "first" as an AnnotationPage object with its items',
        );
      }
      if (!Array.isArray(page.items)) throw new ImportFormatError('an AnnotationPage needs an "items" array');
      items.push(...page.items);
      page = isObject(page.next) ? page.next : undefined;
    }
    if (input.first === undefined && typeof input.total === 'number' && input.total > 0) {
      throw new ImportFormatError('the collection has annotations but no inline "first" page holding them');
    }
    return items;
  }
  if (types.includes('AnnotationPage')) {
    if (!Array.isArray(input.items)) throw new ImportFormatError('an AnnotationPage needs an "items" array');
    return input.items;
  }
  if (types.includes('Annotation')) return [input];
  throw new ImportFormatError('expected a W3C AnnotationCollection, AnnotationPage or Annotation (by its "type")');
}

function creatorOf(x: Json, fallback: { authorId: string; authorName: string }) {
  const creator = Array.isArray(x.creator) ? x.creator[0] : x.creator;
  if (typeof creator === 'string' && creator.trim() !== '')
    return { authorId: importedAuthorId(creator.trim()), authorName: creator.trim() };
  if (!isObject(creator)) return fallback;
  const id = str(creator.id)?.trim();
  const name = (str(creator.name) ?? str(creator.nickname) ?? str(creator.accountName) ?? id ?? '').trim();
  const key = id || name;
  return key ? { authorId: importedAuthorId(key), authorName: name || key } : fallback;
}

const UNKNOWN = { authorId: 'import:unknown', authorName: 'Unknown' };

function commentFrom(node: Json, annotation: Json, id: string, value: string, now: number): PlannedComment {
  const who = creatorOf(node, creatorOf(annotation, UNKNOWN));
  const createdAt = parseTime(node.created ?? annotation.created, now);
  const modified = node.modified ?? (node === annotation ? annotation.modified : undefined);
  const editedAt = modified === undefined ? null : parseTime(modified, createdAt);
  return {
    id,
    ...who,
    body: value,
    createdAt,
    editedAt: editedAt !== null && editedAt > createdAt ? editedAt : null,
    deleted: false,
  };
}

function selectorsOf(annotation: Json): { quote: PlannedThread['quote']; position: PlannedThread['position'] } {
  let quote: PlannedThread['quote'] = null;
  let position: PlannedThread['position'] = null;
  for (const target of asArray(annotation.target)) {
    if (!isObject(target)) continue;
    for (const s of asArray(target.selector)) {
      if (!isObject(s)) continue;
      const types = typesOf(s);
      if (!quote && types.includes('TextQuoteSelector') && typeof s.exact === 'string' && s.exact !== '') {
        quote = {
          exact: s.exact,
          ...(typeof s.prefix === 'string' ? { prefix: s.prefix } : {}),
          ...(typeof s.suffix === 'string' ? { suffix: s.suffix } : {}),
        };
      }
      const start = s.start;
      const end = s.end;
      if (!position && types.includes('TextPositionSelector') && Number.isInteger(start) && Number.isInteger(end)) {
        position = { start: start as number, end: end as number };
      }
    }
  }
  return { quote, position };
}

/** The id of the annotation a reply targets, or null when its target is not an annotation. */
function replyTarget(annotation: Json): string | null {
  if (!asArray(annotation.motivation).includes('replying')) return null;
  const target = asArray(annotation.target)[0];
  if (typeof target === 'string') return target;
  if (isObject(target) && typeof target.id === 'string' && target.selector === undefined) return target.id;
  if (isObject(target) && typeof target.source === 'string' && target.selector === undefined) return target.source;
  return null;
}

/**
 * Commenting bodies as (id, text) and tagging bodies as tags, with the definitions tagging bodies carry
 * (`schema:color` as a hex colour, `schema:description`). String bodies are IRIs of external resources: ignored.
 */
function bodiesOf(annotation: Json): {
  comments: { node: Json; value: string }[];
  tags: string[];
  definitions: Record<string, TagDefinition>;
} {
  const comments: { node: Json; value: string }[] = [];
  const tags: string[] = [];
  const definitions: Record<string, TagDefinition> = {};
  if (typeof annotation.bodyValue === 'string' && annotation.bodyValue.trim() !== '')
    comments.push({ node: annotation, value: annotation.bodyValue });
  for (const body of asArray(annotation.body)) {
    if (!isObject(body) || typeof body.value !== 'string') continue;
    const purposes = asArray(body.purpose);
    if (purposes.includes('tagging')) {
      const tag = body.value.trim();
      if (tag !== '' && !tags.includes(tag)) tags.push(tag);
      const color = body['schema:color'];
      if (tag !== '' && typeof color === 'string' && /^#[0-9a-fA-F]{6}$/.test(color)) {
        const description = body['schema:description'];
        definitions[tag] = typeof description === 'string' ? { color, description } : { color };
      }
    } else if (body.value.trim() !== '') {
      comments.push({ node: body, value: body.value });
    }
  }
  return { comments, tags, definitions };
}

function isResolved(annotation: Json): boolean {
  const status = str(annotation['schema:actionStatus']) ?? str(annotation.actionStatus) ?? '';
  return status === STATUS_RESOLVED || /(^|[/#:])CompletedActionStatus$/.test(status);
}

/** A key for an annotation that has no id: the same annotation always gives the same key. */
function contentKey(annotation: Json): string {
  return `content:${JSON.stringify([annotation.target ?? null, annotation.body ?? annotation.bodyValue ?? null, annotation.created ?? null])}`;
}

export function planW3cImport(input: unknown, now: number): ImportPlan {
  const plan: ImportPlan = { threads: [], replies: [], rejected: [], vocabulary: {} };
  const threadOf = new Map<string, PlannedThread>();
  const replies: { key: string; annotation: Json; target: string }[] = [];
  for (const item of annotationsOf(input)) {
    if (!isObject(item)) {
      plan.rejected.push({ reason: 'not an annotation object' });
      continue;
    }
    const source = typeof item.id === 'string' && item.id.trim() !== '' ? item.id.trim() : undefined;
    const key = source ?? contentKey(item);
    const target = replyTarget(item);
    if (target !== null) {
      replies.push({ key, annotation: item, target });
      continue;
    }
    const { quote, position } = selectorsOf(item);
    const { comments, tags, definitions } = bodiesOf(item);
    for (const [tag, def] of Object.entries(definitions)) plan.vocabulary[tag] ??= def;
    if (!quote && !position) {
      plan.rejected.push({
        ...(source ? { id: source } : {}),
        reason: 'no TextQuoteSelector or TextPositionSelector in its target',
      });
      continue;
    }
    const id = importedId(key);
    const thread: PlannedThread = {
      ...(source ? { source } : {}),
      id,
      quote,
      position,
      tags,
      status: isResolved(item) ? 'resolved' : 'open',
      resolvedBy: null,
      resolvedAt: null,
      comments: comments.map(({ node, value }, i) => {
        const bodyId =
          typeof node.id === 'string' && node !== item ? importedId(node.id) : nameUuid(`${key}#body-${i}`);
        return commentFrom(node, item, bodyId, value, now);
      }),
    };
    threadOf.set(key, thread);
    plan.threads.push(thread);
  }
  // Replies may answer replies: follow each to the thread at the root of its chain.
  const replyByKey = new Map(replies.map((r) => [r.key, r]));
  for (const r of replies) {
    const { comments } = bodiesOf(r.annotation);
    const text = comments.map((c) => c.value).join('\n\n');
    if (text === '') {
      plan.rejected.push({ id: r.key, reason: 'a reply without text' });
      continue;
    }
    const comment = commentFrom(r.annotation, r.annotation, importedId(r.key), text, now);
    let target = r.target;
    const seen = new Set<string>([r.key]);
    while (!threadOf.has(target) && replyByKey.has(target) && !seen.has(target)) {
      seen.add(target);
      target = replyByKey.get(target)!.target;
    }
    const thread = threadOf.get(target);
    if (thread) thread.comments.push(comment);
    else if (seen.has(target)) plan.rejected.push({ id: r.key, reason: 'a reply in a cycle of replies' });
    else plan.replies.push({ source: r.key, threadId: importedId(target), comment });
  }
  for (const t of plan.threads) {
    const [first, ...rest] = t.comments;
    if (first) t.comments = [first, ...rest.sort((a, b) => a.createdAt - b.createdAt)];
  }
  return plan;
}
