/**
 * The people a comment on a document may mention (GET /api/documents/:id/mentionable), fetched once per document
 * and shared by every comment box and comment of it. Mentions are written as `@username`; the same token rules as
 * the server's (server/src/mentions.ts) say which words are mentions.
 */
import { useEffect, useState } from 'react';
import { mentionsIn } from '@marginalia/shared';
import { api, type Person } from '../app/api';

const cache = new Map<string, Promise<Person[]>>();

export function usePeople(docId: string): Person[] {
  const [people, setPeople] = useState<Person[]>([]);
  useEffect(() => {
    let live = true;
    let request = cache.get(docId);
    if (!request) {
      request = api.mentionable(docId, '', 200).catch(() => {
        cache.delete(docId);
        return [];
      });
      cache.set(docId, request);
    }
    void request.then((p) => live && setPeople(p));
    return () => {
      live = false;
    };
  }, [docId]);
  return people;
}

/** The ids of the people a text mentions, each once, in order. */
export function mentionedIds(text: string, people: readonly Person[]): string[] {
  const byName = new Map(people.map((p) => [p.username, p]));
  const ids: string[] = [];
  for (const m of mentionsIn(text)) {
    const person = byName.get(m.username);
    if (person && !ids.includes(person.id)) ids.push(person.id);
  }
  return ids;
}

/** The people whose username or a word of whose name starts with `query`. */
export function matchPeople(people: readonly Person[], query: string, limit = 8): Person[] {
  const q = query.toLowerCase();
  return people
    .filter(
      (p) =>
        !q ||
        p.username.startsWith(q) ||
        p.name
          .toLowerCase()
          .split(/\s+/)
          .some((w) => w.startsWith(q)),
    )
    .slice(0, limit);
}

/** The `@names` in a text that name nobody who may read the document (they will not be told). */
export function unknownMentions(text: string, people: readonly Person[]): string[] {
  const known = new Set(people.map((p) => p.username));
  const out: string[] = [];
  for (const m of mentionsIn(text)) {
    // a name still being typed (at the very end) is not judged yet
    if (/^[\p{L}\p{N}_.-]*$/u.test(text.slice(m.index + m.length))) continue;
    if (!known.has(m.username) && !out.includes(m.username)) out.push(m.username);
  }
  return out;
}
