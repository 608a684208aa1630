/** Small formatting helpers shared by the views. */

const relative = new Intl.RelativeTimeFormat(undefined, { numeric: 'auto' });
const absolute = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' });

export function toMillis(value: number | string | null | undefined): number | null {
  if (value === null || value === undefined) return null;
  const ms = typeof value === 'number' ? value : Date.parse(value);
  return Number.isFinite(ms) ? ms : null;
}

/** "just now", "5 minutes ago", "yesterday", then a date. */
export function timeAgo(value: number | string | null | undefined, now = Date.now()): string {
  const ms = toMillis(value);
  if (ms === null) return '';
  const seconds = Math.round((ms - now) / 1000);
  const abs = Math.abs(seconds);
  if (abs < 45) return 'just now';
  if (abs < 3600) return relative.format(Math.round(seconds / 60), 'minute');
  if (abs < 86400) return relative.format(Math.round(seconds / 3600), 'hour');
  if (abs < 7 * 86400) return relative.format(Math.round(seconds / 86400), 'day');
  return absolute.format(ms);
}

export function fullTime(value: number | string | null | undefined): string {
  const ms = toMillis(value);
  return ms === null ? '' : absolute.format(ms);
}

export function plural(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}

/** Initials for an avatar: "Ada Lovelace" -> "AL", "bob" -> "B". */
export function initials(name: string): string {
  const words = name
    .trim()
    .split(/\s+/)
    .filter((w) => /^\p{L}|^\p{N}/u.test(w));
  if (words.length === 0) return '?';
  const first = [...words[0]!][0] ?? '';
  const last = words.length > 1 ? ([...words[words.length - 1]!][0] ?? '') : '';
  return (first + last).toUpperCase();
}

export const USER_COLORS = [
  '#2f6fdf',
  '#c2410c',
  '#0f766e',
  '#7c3aed',
  '#b91c1c',
  '#15803d',
  '#a16207',
  '#be185d',
  '#0369a1',
  '#4d7c0f',
  '#9333ea',
  '#0e7490',
  '#c026d3',
  '#854d0e',
  '#4338ca',
  '#047857',
];

function colorIndex(userId: string): number {
  let hash = 0;
  for (let i = 0; i < userId.length; i++) hash = (hash * 31 + userId.charCodeAt(i)) | 0;
  return Math.abs(hash) % USER_COLORS.length;
}

/** A stable colour per user id, distinct enough to tell collaborators apart. */
export function userColor(userId: string): string {
  return USER_COLORS[colorIndex(userId)]!;
}

/**
 * Colours for the people present now, no two alike while the palette lasts: each keeps its own colour
 * unless someone earlier (by id) already has it, then takes the next free one. Every browser computes the
 * same answer from the same set of people.
 */
export function distinctColors(userIds: Iterable<string>): Map<string, string> {
  const taken = new Set<number>();
  const result = new Map<string, string>();
  for (const id of [...new Set(userIds)].sort()) {
    let index = colorIndex(id);
    for (let tries = 0; taken.has(index) && tries < USER_COLORS.length; tries++)
      index = (index + 1) % USER_COLORS.length;
    taken.add(index);
    result.set(id, USER_COLORS[index]!);
  }
  return result;
}

/** The colour a highlight takes: its first tag's colour, or the default marker yellow. */
export const DEFAULT_HIGHLIGHT = '#e8b400';

export function roleLabel(role: string): string {
  return role.charAt(0).toUpperCase() + role.slice(1);
}

/** Guests' ids are minted by the server as `guest:<uuid>`; a member's id never starts so. */
export function isGuest(userId: string): boolean {
  return userId.startsWith('guest:');
}

/** A person's name as shown in text: a guest's always says so, so that a guest never passes as a member. */
export function personName(name: string, userId: string): string {
  return isGuest(userId) ? `${name} (guest)` : name;
}
