/**
 * Minimal repros of two defects of @lexical/yjs 0.52 (collab v1) that lost letters users typed, fixed by
 * patches/@lexical+yjs+0.52.0.patch (applied at install by patch-package; docs/upstream/ has each fix's reasoning):
 * - a bold concurrent with deleting the same letter, then typing before it, lost neighbouring letters ("xxxdahar")
 *   and left the deleting replica's editor showing letters its doc no longer had
 *   (docs/upstream/lexical-yjs-normalization-stale-keys.md);
 * - Enter at the start of a block while another user typed there lost the typed letter
 *   (docs/upstream/lexical-yjs-dangling-text.md).
 * The fuzzer (lexical-collab-fuzz.test.ts) covers the wider space.
 */
import { afterEach, describe, expect, it } from '@jest/globals';
import { $getRoot } from 'lexical';
import { articleText } from '@marginalia/shared';
import {
  ReplicaNetwork,
  articleUpdate,
  deleteRange,
  formatRange,
  insertTextAt,
  splitBlockAt,
} from '../support/lexical.js';

let net: ReplicaNetwork | null = null;
afterEach(() => {
  net?.destroy();
  net = null;
});

async function boldAgainstDelete(): Promise<ReplicaNetwork> {
  const n = new ReplicaNetwork(3, await articleUpdate('# Kandahar and Islamabad\n\nThe fall.', 'markdown'));
  const [a, b] = n.replicas;
  await formatRange(a!.editor!, 0, 1, 'bold'); // A bolds "K"…
  await deleteRange(b!.editor!, 0, 1); // …while B deletes that "K"…
  for (let i = 0; i < 3; i++) await insertTextAt(a!.editor!, 0, 'x'); // …and A types before it.
  await n.deliverAll();
  return n;
}

describe('Lexical 0.52 collab v1, concurrent format and delete', () => {
  it('keeps every letter neither user deleted (unpatched 0.52 lost "an": "xxxdahar")', async () => {
    net = await boldAgainstDelete();
    expect(articleText(net.replicas[0]!.doc)).toBe('xxxandahar and Islamabad\n\nThe fall.');
  });

  it("keeps each editor's state equal to its doc (unpatched, the deleting replica showed letters its doc had lost)", async () => {
    net = await boldAgainstDelete();
    for (const r of net.replicas) expect(r.editor!.read(() => $getRoot().getTextContent())).toBe(articleText(r.doc));
  });

  it('still converges: every replica holds the same doc', async () => {
    net = await boldAgainstDelete();
    const texts = net.replicas.map((r) => articleText(r.doc));
    expect(new Set(texts).size).toBe(1);
  });
});

describe('Lexical 0.52 collab v1, concurrent Enter and typing', () => {
  it('keeps a letter typed at the start of a block that another user splits there (unpatched 0.52 lost the "x")', async () => {
    net = new ReplicaNetwork(3, await articleUpdate('Intro para.\n\n- The TTP resettled.\n- Minerals.', 'markdown'));
    const [a, b] = net.replicas;
    await splitBlockAt(b!.editor!, 13); // B presses Enter at the start of the first list item…
    await insertTextAt(a!.editor!, 13, 'x'); // …while A types there.
    await net.deliverAll();
    expect(articleText(net.replicas[0]!.doc).match(/x/g)).toHaveLength(1); // wherever the merge puts it
  });
});

describe('Lexical 0.52 collab v1, typing into a text node another user deletes', () => {
  it('keeps the letter, and every editor shows it with the format the doc gives it', async () => {
    net = new ReplicaNetwork(3, await articleUpdate('Intro.\n\nplain **bold** rest', 'markdown'));
    const [a, b] = net.replicas;
    await insertTextAt(a!.editor!, 8, 'x'); // A types at the start of "plain "…
    await deleteRange(b!.editor!, 8, 14); // …while B deletes the whole of "plain ".
    await net.deliverAll();
    for (const r of net.replicas) {
      expect(articleText(r.doc)).toBe('Intro.\n\nxbold rest');
      // Unpatched, B's editor showed the "x" inside the bold node, while its doc had it in no node at all.
      const formats = r.editor!.read(() =>
        $getRoot()
          .getAllTextNodes()
          .map((n) => [n.getTextContent(), n.getFormat()]),
      );
      expect(formats).toEqual([
        ['Intro.', 0],
        ['x', 0],
        ['bold', 1],
        [' rest', 0],
      ]);
    }
  });
});

describe('Lexical 0.52 collab v1, two users format the same letters', () => {
  it('keeps the word once (unpatched 0.52 doubled the rest of it: "Kandaharandahar")', async () => {
    net = new ReplicaNetwork(3, await articleUpdate('# Kandahar\n\nThe fall.', 'markdown'));
    const [a, b] = net.replicas;
    await formatRange(a!.editor!, 0, 1, 'bold'); // A and B both bold the "K", neither having seen the other.
    await formatRange(b!.editor!, 0, 1, 'bold');
    await net.deliverAll();
    for (const r of net.replicas) {
      expect(articleText(r.doc)).toBe('Kandahar\n\nThe fall.');
      expect(r.editor!.read(() => $getRoot().getTextContent())).toBe('Kandahar\n\nThe fall.');
    }
  });

  it('does not bring back a letter deleted in the part of the node that the format split off', async () => {
    net = new ReplicaNetwork(3, await articleUpdate('# Kandahar\n\nThe fall.', 'markdown'));
    const [a, b] = net.replicas;
    await formatRange(a!.editor!, 0, 1, 'bold'); // A bolds the "K"…
    await deleteRange(b!.editor!, 4, 5); // …while B deletes the "a" after "Kand".
    await net.deliverAll();
    for (const r of net.replicas) expect(articleText(r.doc)).toBe('Kandhar\n\nThe fall.');
  });
});
