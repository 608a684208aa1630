/**
 * REST requests for fuzzing: every route, called by several kinds of caller, with bodies that are valid
 * templates with fields replaced by random JSON, random JSON, or raw text under assorted content types, and
 * path parameters that are real ids or random strings.
 */
import fc from 'fast-check';
import * as Y from 'yjs';
import { threadsMap } from '@marginalia/shared';

type Who = 'owner' | 'commenter' | 'viewer' | 'none' | 'garbage' | 'malformed';

interface Params {
  doc: string;
  thread: string;
  comment: string;
  tag: string;
  user: string;
  q: string;
}

interface Route {
  method: string;
  path: (p: Params) => string;
  /** A valid body to start from. */
  template?: Record<string, unknown>;
  /** Callers allowed to use this route in the fuzz (the rest would end the run: sign-out, deleting the arena). */
  only?: Who[];
}

const THREAD = { exact: 'policy', prefix: 'new ', body: 'b', tags: ['question'] };
export const REST_ROUTES: Route[] = [
  { method: 'POST', path: () => '/auth/login', template: { username: 'commenter', password: 'commenter-password' } },
  { method: 'POST', path: () => '/auth/guest', template: { name: 'Guest' } },
  { method: 'POST', path: () => '/auth/refresh', template: {} },
  { method: 'POST', path: () => '/auth/logout', template: {}, only: ['none', 'garbage', 'malformed'] },
  { method: 'GET', path: () => '/auth/me' },
  { method: 'POST', path: () => '/users', template: { username: 'newuser', password: 'password-1', name: 'New' } },
  // Disabling an account or closing the arena to guests would end the run: only callers that may not.
  {
    method: 'PATCH',
    path: (p) => `/users/${p.user}`,
    template: { disabled: true },
    only: ['commenter', 'viewer', 'none', 'garbage', 'malformed'],
  },
  { method: 'GET', path: () => '/documents' },
  {
    method: 'POST',
    path: () => '/documents',
    template: { title: 'T', format: 'markdown', content: '# H\n\ntext', guestRole: null },
  },
  { method: 'GET', path: (p) => `/documents/${p.doc}` },
  {
    method: 'DELETE',
    path: (p) => `/documents/${p.doc}`,
    only: ['commenter', 'viewer', 'none', 'garbage', 'malformed'],
  },
  {
    method: 'PATCH',
    path: (p) => `/documents/${p.doc}`,
    template: { guestRole: null },
    only: ['commenter', 'viewer', 'none', 'garbage', 'malformed'],
  },
  { method: 'GET', path: (p) => `/documents/${p.doc}/text` },
  { method: 'GET', path: (p) => `/documents/${p.doc}/audit?limit=${p.q}` },
  { method: 'GET', path: (p) => `/documents/${p.doc}/members` },
  { method: 'PUT', path: (p) => `/documents/${p.doc}/members/${p.user}`, template: { role: 'viewer' } },
  { method: 'DELETE', path: (p) => `/documents/${p.doc}/members/${p.user}` },
  { method: 'GET', path: (p) => `/documents/${p.doc}/threads` },
  { method: 'POST', path: (p) => `/documents/${p.doc}/threads`, template: THREAD },
  { method: 'POST', path: (p) => `/documents/${p.doc}/threads`, template: { start: 4, end: 12, body: 'b' } },
  { method: 'GET', path: (p) => `/documents/${p.doc}/threads/${p.thread}` },
  {
    method: 'PATCH',
    path: (p) => `/documents/${p.doc}/threads/${p.thread}`,
    template: { status: 'resolved', tags: ['question'] },
  },
  { method: 'POST', path: (p) => `/documents/${p.doc}/threads/${p.thread}/comments`, template: { body: 'c' } },
  {
    method: 'PATCH',
    path: (p) => `/documents/${p.doc}/threads/${p.thread}/comments/${p.comment}`,
    template: { body: 'e' },
  },
  { method: 'DELETE', path: (p) => `/documents/${p.doc}/threads/${p.thread}/comments/${p.comment}` },
  { method: 'GET', path: (p) => `/documents/${p.doc}/vocabulary` },
  {
    method: 'PUT',
    path: (p) => `/documents/${p.doc}/vocabulary/${p.tag}`,
    template: { color: '#123456', description: 'd' },
  },
  { method: 'DELETE', path: (p) => `/documents/${p.doc}/vocabulary/${p.tag}` },
  { method: 'GET', path: (p) => `/documents/${p.doc}/export?${p.q}` },
  {
    method: 'POST',
    path: (p) => `/documents/${p.doc}/import?format=${p.q}`,
    template: { threads: [{ quote: { exact: 'policy' }, comments: [{ body: 'imported' }] }] },
  },
];

export interface RestCase {
  route: number;
  who: Who;
  body:
    | { kind: 'template'; drop: string[]; set: Record<string, unknown> }
    | { kind: 'json'; value: unknown }
    | { kind: 'raw'; text: string }
    | { kind: 'none' };
  contentType: string | null;
  params: { real: boolean[]; index: number; random: string[]; q: string };
}

const KEYS = [
  'username',
  'password',
  'name',
  'title',
  'format',
  'content',
  'guestRole',
  'role',
  'exact',
  'prefix',
  'suffix',
  'body',
  'tags',
  'start',
  'end',
  'status',
  'color',
  'description',
  'threads',
  'admin',
  '__proto__',
  'constructor',
];

export const restCase: fc.Arbitrary<RestCase> = fc.record({
  route: fc.nat(REST_ROUTES.length - 1),
  who: fc.constantFrom<Who>('owner', 'owner', 'commenter', 'commenter', 'viewer', 'none', 'garbage', 'malformed'),
  body: fc.oneof(
    {
      weight: 3,
      arbitrary: fc.constant({ kind: 'template' as const, drop: [] as string[], set: {} as Record<string, unknown> }),
    },
    {
      weight: 5,
      arbitrary: fc.record({
        kind: fc.constant('template' as const),
        drop: fc.subarray(KEYS, { maxLength: 2 }),
        set: fc.dictionary(fc.constantFrom(...KEYS), fc.jsonValue({ maxDepth: 3 }), { maxKeys: 3 }),
      }),
    },
    { weight: 2, arbitrary: fc.record({ kind: fc.constant('json' as const), value: fc.jsonValue({ maxDepth: 4 }) }) },
    {
      weight: 2,
      arbitrary: fc.record({
        kind: fc.constant('raw' as const),
        text: fc.oneof(
          fc.string({ maxLength: 60 }),
          fc.constantFrom(
            '{',
            '{"a":',
            '[]',
            'null',
            '"x"',
            '{"body":"\\ud800"}',
            '{"__proto__":{"admin":true}}',
            '9'.repeat(400),
          ),
        ),
      }),
    },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('none' as const) }) },
  ),
  contentType: fc.constantFrom(
    'application/json',
    'application/json',
    'application/ld+json',
    'text/plain',
    'application/x-www-form-urlencoded',
    'multipart/form-data; boundary=x',
    'application/json; charset=utf-16',
    null,
  ),
  params: fc.record({
    real: fc.array(fc.boolean(), { minLength: 6, maxLength: 6 }),
    index: fc.nat(),
    random: fc.array(fc.string({ maxLength: 30 }), { minLength: 6, maxLength: 6 }),
    q: fc.oneof(
      fc.constantFrom(
        'format=md',
        'format=html',
        'format=w3c',
        'format=csv',
        'format=docx',
        'format=json',
        'json',
        'w3c',
        'format=md&status=open&tags=question',
        '200',
      ),
      fc.string({ maxLength: 40 }),
    ),
  }),
});

export interface ResolvedRequest {
  method: string;
  path: string;
  headers: Record<string, string>;
  body: string | undefined;
}

export function resolveRestCase(
  c: RestCase,
  ctx: { docId: string; doc: Y.Doc; tokens: { owner: string; commenter: string; viewer: string } },
): ResolvedRequest {
  const route = REST_ROUTES[c.route]!;
  const who: Who = route.only && !route.only.includes(c.who) ? 'none' : c.who;
  const threads = [...threadsMap(ctx.doc).values()];
  const thread = threads.length ? threads[c.params.index % threads.length]! : null;
  const comments = thread ? ((thread.get('comments') as Y.Array<Y.Map<unknown>> | undefined)?.toArray() ?? []) : [];
  const comment = comments.length ? comments[c.params.index % comments.length] : undefined;
  const real = [
    ctx.docId,
    String(thread?.get('id') ?? 'x'),
    String(comment?.get('id') ?? 'x'),
    'question',
    'spare',
    c.params.q,
  ];
  const pick = (i: number) => (c.params.real[i] || i === 5 ? real[i]! : encodeURIComponent(c.params.random[i]!));
  const params: Params = {
    doc: c.params.real[0] ? ctx.docId : pick(0),
    thread: pick(1),
    comment: pick(2),
    tag: pick(3),
    user: pick(4),
    q: c.params.q,
  };
  const headers: Record<string, string> = {};
  if (who === 'owner' || who === 'commenter' || who === 'viewer') headers.authorization = `Bearer ${ctx.tokens[who]}`;
  if (who === 'garbage') headers.authorization = 'Bearer eyJhbGciOiJIUzI1NiJ9.e30.garbage';
  if (who === 'malformed') headers.authorization = 'Basic dXNlcjpwYXNz';
  let body: string | undefined;
  if (route.method !== 'GET') {
    if (c.body.kind === 'template') {
      const b: Record<string, unknown> = { ...(route.template ?? {}) };
      for (const k of c.body.drop) delete b[k];
      for (const [k, v] of Object.entries(c.body.set)) b[k] = v;
      body = JSON.stringify(b);
    } else if (c.body.kind === 'json') body = JSON.stringify(c.body.value);
    else if (c.body.kind === 'raw') body = c.body.text;
    if (body !== undefined && c.contentType) headers['content-type'] = c.contentType;
  }
  return { method: route.method, path: route.path(params), headers, body };
}
