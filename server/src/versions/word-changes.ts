/**
 * Two texts compared word by word (jsdiff `diffWordsWithSpace`), as a walk over both: each replacement (a run of
 * removed and added words, either part possibly empty) with where it starts in the old text and in the new one.
 * The diff of versions (diff.ts) and the edits of a revision (revise.ts) are both built from it.
 */
import { diffWordsWithSpace } from 'diff';

export interface Replacement {
  /** Offset in the old text where the removed words were. */
  atOld: number;
  /** Offset in the new text where the added words are. */
  atNew: number;
  removed: string;
  added: string;
}

export function wordReplacements(oldText: string, newText: string): Replacement[] {
  const out: Replacement[] = [];
  const changes = diffWordsWithSpace(oldText, newText);
  let atOld = 0;
  let atNew = 0;
  for (let i = 0; i < changes.length;) {
    const c = changes[i]!;
    if (!c.added && !c.removed) {
      atOld += c.value.length;
      atNew += c.value.length;
      i++;
      continue;
    }
    let removed = '';
    let added = '';
    for (; i < changes.length && (changes[i]!.added || changes[i]!.removed); i++) {
      if (changes[i]!.removed) removed += changes[i]!.value;
      else added += changes[i]!.value;
    }
    out.push({ atOld, atNew, removed, added });
    atOld += removed.length;
    atNew += added.length;
  }
  return out;
}
