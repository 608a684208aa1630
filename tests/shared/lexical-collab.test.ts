/**
 * Known behaviour of @lexical/yjs 0.52 (collab v1) that this project works around or must live with. These are
 * Lexical's, not the annotation model's; each test states the correct behaviour and is marked `failing` while
 * Lexical gets it wrong, so a Lexical upgrade that fixes it turns the test red and the note here can go.
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
  it.failing('keeps every letter neither user deleted (it loses "an": "xxxdahar")', async () => {
    net = await boldAgainstDelete();
    expect(articleText(net.replicas[0]!.doc)).toBe('xxxandahar and Islamabad\n\nThe fall.');
  });

  it.failing(
    "keeps each editor's state equal to its doc (the deleting replica still shows the lost letters)",
    async () => {
      net = await boldAgainstDelete();
      for (const r of net.replicas) expect(r.editor!.read(() => $getRoot().getTextContent())).toBe(articleText(r.doc));
    },
  );

  it('still converges: every replica holds the same doc', async () => {
    net = await boldAgainstDelete();
    const texts = net.replicas.map((r) => articleText(r.doc));
    expect(new Set(texts).size).toBe(1);
  });
});

describe('Lexical 0.52 collab v1, concurrent Enter and typing', () => {
  it.failing(
    'keeps a letter typed at the start of a block that another user splits there (it loses the "x")',
    async () => {
      net = new ReplicaNetwork(3, await articleUpdate('Intro para.\n\n- The TTP resettled.\n- Minerals.', 'markdown'));
      const [a, b] = net.replicas;
      await splitBlockAt(b!.editor!, 13); // B presses Enter at the start of the first list item…
      await insertTextAt(a!.editor!, 13, 'x'); // …while A types there.
      await net.deliverAll();
      expect(articleText(net.replicas[0]!.doc).match(/x/g)).toHaveLength(1); // wherever the merge puts it
    },
  );
});
