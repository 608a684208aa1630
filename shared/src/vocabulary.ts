/** The tag vocabulary (`vocabulary` Y.Map: tag name -> { color, description }). */
import * as Y from 'yjs';
import { ModelError } from './errors.js';
import { ORIGIN } from './origins.js';
import { threadsMap, vocabularyMap, type TagDefinition } from './schema.js';
import { replaceTags } from './threads.js';

function requireName(name: unknown): string {
  if (typeof name !== 'string' || name.trim() === '')
    throw new ModelError('invalid', 'a tag name must be a non-empty string');
  return name.trim();
}

function requireDefinition(def: TagDefinition): TagDefinition {
  if (typeof def !== 'object' || def === null || typeof def.color !== 'string' || def.color.trim() === '') {
    throw new ModelError('invalid', 'a tag needs a color');
  }
  if (def.description !== undefined && typeof def.description !== 'string')
    throw new ModelError('invalid', 'a tag description must be a string');
  return def.description === undefined ? { color: def.color } : { color: def.color, description: def.description };
}

export function readVocabulary(doc: Y.Doc): Record<string, TagDefinition> {
  const out: Record<string, TagDefinition> = {};
  vocabularyMap(doc).forEach((value, name) => {
    const def = value as Partial<TagDefinition> | null;
    if (typeof def === 'object' && def !== null && typeof def.color === 'string') {
      out[name] =
        typeof def.description === 'string' ? { color: def.color, description: def.description } : { color: def.color };
    }
  });
  return out;
}

/** Adds a tag or changes its color/description. */
export function setTag(doc: Y.Doc, name: string, def: TagDefinition): void {
  const tag = requireName(name);
  const value = requireDefinition(def);
  doc.transact(() => vocabularyMap(doc).set(tag, value), ORIGIN.vocabulary);
}

/** Renames a tag in the vocabulary and on every thread that carries it. 'conflict' if `to` exists already. */
export function renameTag(doc: Y.Doc, from: string, to: string): void {
  const oldName = requireName(from);
  const newName = requireName(to);
  if (oldName === newName) return;
  const vocabulary = vocabularyMap(doc);
  const def = vocabulary.get(oldName);
  if (def === undefined) throw new ModelError('not-found', `no tag ${oldName}`);
  if (vocabulary.has(newName)) throw new ModelError('conflict', `tag ${newName} exists`);
  doc.transact(() => {
    vocabulary.delete(oldName);
    vocabulary.set(newName, def);
    retag(doc, (tags) => tags.map((t) => (t === oldName ? newName : t)));
  }, ORIGIN.vocabulary);
}

/** Removes a tag from the vocabulary and from every thread. */
export function removeTag(doc: Y.Doc, name: string): void {
  const tag = requireName(name);
  doc.transact(() => {
    vocabularyMap(doc).delete(tag);
    retag(doc, (tags) => tags.filter((t) => t !== tag));
  }, ORIGIN.vocabulary);
}

function retag(doc: Y.Doc, change: (tags: string[]) => string[]): void {
  threadsMap(doc).forEach((thread) => {
    const list = thread instanceof Y.Map ? thread.get('tags') : undefined;
    if (!(list instanceof Y.Array)) return;
    const before = list.toArray().filter((t): t is string => typeof t === 'string');
    const after = [...new Set(change(before))];
    if (after.length !== before.length || after.some((t, i) => t !== before[i]))
      replaceTags(list as Y.Array<unknown>, after);
  });
}
