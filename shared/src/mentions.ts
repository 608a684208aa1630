/**
 * How `@username` mentions are read from a comment's text — the same rule on the server (which fills a comment's
 * `mentions` over REST), in the client (suggestions, chips) and in exports (`@Name`). A mention starts at a word
 * start (so "ann@example.org" is none); its name is lower-cased, and a trailing "." or "-" is punctuation.
 */

/** One `@name` (a fresh RegExp each call: it is global, so it carries state). */
export const mentionPattern = (): RegExp => /(?<![\p{L}\p{N}_@.-])@([a-z0-9][a-z0-9_.-]{0,63})/giu;

/** The username a raw `@…` match names. */
export const mentionName = (raw: string): string => raw.toLowerCase().replace(/[.-]+$/, '');

/** Every mention in a text: where its `@` is, how long it is (without trailing punctuation), and the username. */
export function mentionsIn(text: string): { index: number; length: number; username: string }[] {
  const out: { index: number; length: number; username: string }[] = [];
  for (const m of text.matchAll(mentionPattern())) {
    const username = mentionName(m[1]!);
    if (username) out.push({ index: m.index, length: username.length + 1, username });
  }
  return out;
}

/** The usernames a text mentions, each once, in order. */
export function mentionTokens(text: string): string[] {
  return [...new Set(mentionsIn(text).map((m) => m.username))];
}

/**
 * The text with each mention of one of `people` (by username) written as `@Name`: how exports show mentions.
 * Other `@words` stay as they are.
 */
export function withMentionNames(text: string, people: ReadonlyMap<string, string>): string {
  let out = '';
  let last = 0;
  for (const m of mentionsIn(text)) {
    const name = people.get(m.username);
    if (name === undefined) continue;
    out += `${text.slice(last, m.index)}@${name}`;
    last = m.index + m.length;
  }
  return out + text.slice(last);
}
