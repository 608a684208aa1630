/**
 * The people a comment on a document may mention (GET /api/documents/:id/mentionable), fetched once per document
 * and shared by every comment box and comment of it. Mentions are written as `@username`; the same token rules as
 * the server's (server/src/mentions.ts) say which words are mentions.
 */
import { mentionsIn } from '@marginalia/shared';
import { api, type Person } from '../app/api';
import { newStore, useStoreState, type Store } from '../app/store';

const stores = new Map<string, Store<{ list: readonly Person[] }>>();
/** Owners' look-ups of accounts that cannot read a document, by document and prefix. */
const outsiderLookups = new Map<string, Promise<Person[]>>();

function fetchPeople(docId: string, store: Store<{ list: readonly Person[] }>): Promise<void> {
  return api.mentionable(docId, '', 200).then(
    (list) => store.setState({ list }),
    () => void stores.delete(docId), // the next box to open asks again
  );
}

function storeOf(docId: string): Store<{ list: readonly Person[] }> {
  let store = stores.get(docId);
  if (!store) {
    store = newStore<{ list: readonly Person[] }>({ list: [] });
    stores.set(docId, store);
    void fetchPeople(docId, store);
  }
  return store;
}

export function usePeople(docId: string): readonly Person[] {
  return useStoreState(storeOf(docId), (s) => s.list);
}

/** Asks again who may read the document (after its members changed); every box and comment of it follows. */
export async function refreshPeople(docId: string): Promise<void> {
  for (const key of outsiderLookups.keys()) if (key.startsWith(`${docId}\n`)) outsiderLookups.delete(key);
  const store = stores.get(docId);
  if (store) await fetchPeople(docId, store);
}

/**
 * Owners only (GET …/shareable): accounts that cannot read the document whose username or a word of whose name
 * starts with `prefix`. Asked once per prefix until the members change.
 */
export function outsidersMatching(docId: string, prefix: string): Promise<Person[]> {
  const key = `${docId}\n${prefix.toLowerCase()}`;
  let lookup = outsiderLookups.get(key);
  if (!lookup) {
    lookup = api.shareable(docId, prefix, 8).catch(() => {
      outsiderLookups.delete(key);
      return [];
    });
    outsiderLookups.set(key, lookup);
  }
  return lookup;
}

/** Shares the document with `person` as a commenter (owners), then refreshes who may be mentioned. */
export async function shareWith(docId: string, person: Person): Promise<void> {
  await api.setMember(docId, person.username, 'commenter');
  await refreshPeople(docId);
}

/** The guest among `guests` that `@token` names (a guest has no username: their name, or its first word). */
export function guestNamed<T extends { name: string }>(token: string, guests: readonly T[]): T | undefined {
  const t = token.toLowerCase();
  return guests.find((g) => {
    const words = g.name.toLowerCase().trim().split(/\s+/);
    return words.join('') === t || words[0] === t;
  });
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
