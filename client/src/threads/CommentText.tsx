/** A comment's text, with the people it mentions shown as chips (`@Name`). */
import type { Person } from '../app/api';
import { mentionsIn } from '@marginalia/shared';

export function CommentText({
  body,
  mentions,
  people,
}: {
  body: string;
  mentions: readonly string[];
  people: readonly Person[];
}) {
  if (mentions.length === 0 || people.length === 0) return <>{body}</>;
  const byName = new Map(people.filter((p) => mentions.includes(p.id)).map((p) => [p.username, p]));
  const parts: (string | Person)[] = [];
  let last = 0;
  for (const m of mentionsIn(body)) {
    const person = byName.get(m.username);
    if (!person) continue;
    parts.push(body.slice(last, m.index), person);
    last = m.index + m.length;
  }
  parts.push(body.slice(last));
  return (
    <>
      {parts.map((part, i) =>
        typeof part === 'string' ? (
          part
        ) : (
          <span key={i} className="mention-chip" title={`@${part.username}`}>
            @{part.name}
          </span>
        ),
      )}
    </>
  );
}
