/**
 * The people a comment on a document may mention (GET /api/documents/:id/mentionable), fetched once per document
 * and shared by every comment box and comment of it. Mentions are written as `@username`; the same token rules as
 * the server's (server/src/mentions.ts) say which words are mentions.
 */
import { useEffect, useState } from 'react';
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

/** `@name` at a word start; the name lower-cased, trailing "." and "-" left out (as the server reads it). */
export const MENTION = /(?<![\p{L}\p{N}_@.-])@([a-z0-9][a-z0-9_.-]{0,63})/giu;

export const mentionName = (raw: string): string => raw.toLowerCase().replace(/[.-]+$/, '');

/** The ids of the people a text mentions, each once, in order. */
export function mentionedIds(text: string, people: readonly Person[]): string[] {
  const byName = new Map(people.map((p) => [p.username, p]));
  const ids: string[] = [];
  for (const m of text.matchAll(MENTION)) {
    const person = byName.get(mentionName(m[1]!));
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
  for (const m of text.matchAll(MENTION)) {
    const name = mentionName(m[1]!);
    // a name still being typed (at the very end) is not judged yet
    if (m.index + m[0].length === text.length) continue;
    if (name && !known.has(name) && !out.includes(name)) out.push(name);
  }
  return out;
}
