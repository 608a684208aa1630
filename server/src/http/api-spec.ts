/**
 * The route registry: every HTTP route is declared once, with its handlers and what it takes and answers, through
 * `route()`. The OpenAPI 3.1 document (`GET /api/openapi.json`) is built from the routes the Express app actually
 * has, by walking its routers: the request schemas are the zod schemas the handlers parse with, converted with
 * `z.toJSONSchema` (JSON Schema 2020-12, the dialect of OpenAPI 3.1). A route added with `r.get(…)` instead of
 * `route(…)` has no spec, and `undocumentedRoutes(app)` (checked by tests/server/openapi.test.ts) lists it.
 */
import type { Express, RequestHandler, Router } from 'express';
import type { RouteParameters } from 'express-serve-static-core';
import { z } from 'zod';

export type Method = 'get' | 'post' | 'put' | 'patch' | 'delete';

/** Who may call a route: the document roles are "this role or above" on the document named by `:id`. */
export type Access =
  'anyone' | 'signed-in' | 'account' | 'admin' | 'viewer' | 'commenter' | 'editor' | 'owner' | 'metrics-token';

const ACCESS_TEXT: Record<Access, string> = {
  anyone: 'anyone (no token needed)',
  'signed-in': 'any signed-in caller (account or guest)',
  account: 'a signed-in account (guests: 403)',
  admin: 'administrators',
  viewer: 'the viewer role or above on the document',
  commenter: 'the commenter role or above on the document',
  editor: 'the editor role or above on the document',
  owner: 'owners of the document (and administrators)',
  'metrics-token': 'anyone, or only with `Authorization: Bearer <MARGINALIA_METRICS_TOKEN>` when that is set',
};

/** One answer: JSON by default; `type` names another content type (then `schema` describes it if given). */
export interface Answer {
  description: string;
  schema?: z.ZodType;
  type?: string;
}

export interface RouteSpec {
  summary: string;
  /** Groups operations in the document (OpenAPI tag). */
  tag: string;
  access: Access;
  description?: string;
  query?: z.ZodObject;
  body?: z.ZodType;
  /** Content types the body may come as (default application/json). */
  bodyTypes?: string[];
  /** Success answers by status. */
  responses: Record<number, Answer>;
  /** Error statuses besides those implied by `access`, the body and the method (each answers `{ error }`). */
  errors?: Record<number, string>;
}

/** A route that is not part of the API (the web client's pages): registered through `route()` all the same. */
export interface HiddenSpec {
  hidden: string;
}

type AnySpec = RouteSpec | HiddenSpec;
type Routable = Pick<Router, 'route'>;

/** Specs by the Express Route object they were registered with, per method. */
const SPECS = new WeakMap<object, Map<Method, AnySpec>>();
/** Routers mounted under a path prefix (`mount()`), so that the walk knows their paths. */
const PREFIXES = new WeakMap<object, string>();

/** Registers `handlers` for `method path` on the router (or app) together with the route's spec. */
export function route<P extends string>(
  r: Routable,
  method: Method,
  path: P,
  spec: AnySpec,
  ...handlers: RequestHandler<RouteParameters<P>>[]
): void {
  const rt = r.route(path);
  let specs = SPECS.get(rt);
  if (!specs) SPECS.set(rt, (specs = new Map()));
  if (specs.has(method)) throw new Error(`route ${method.toUpperCase()} ${path} is declared twice`);
  specs.set(method, spec);
  (rt[method] as (...h: RequestHandler<RouteParameters<P>>[]) => unknown).call(rt, ...handlers);
}

/** `parent.use(prefix, child)`, remembered so that the child's routes are listed under the prefix. */
export function mount(parent: { use: (path: string, r: Router) => unknown }, prefix: string, child: Router): void {
  PREFIXES.set(child, prefix);
  parent.use(prefix, child);
}

export interface RegisteredRoute {
  method: string;
  /** Express path, e.g. `/api/documents/:id`. */
  path: string;
  spec: AnySpec | undefined;
}

interface LayerLike {
  route?: { path: unknown; methods: Record<string, boolean> };
  handle?: { stack?: LayerLike[] };
  slash?: boolean;
}

/** Every route the app (or router) registers, with its spec when it was registered through `route()`. */
export function registeredRoutes(app: Express | Router): RegisteredRoute[] {
  const root = 'router' in app && typeof app.router === 'function' ? app.router : app;
  const out: RegisteredRoute[] = [];
  const walk = (router: { stack?: LayerLike[] }, prefix: string) => {
    for (const layer of router.stack ?? []) {
      if (layer.route) {
        const paths = Array.isArray(layer.route.path) ? layer.route.path : [layer.route.path];
        const specs = SPECS.get(layer.route);
        for (const method of Object.keys(layer.route.methods)) {
          if (method === '_all') continue;
          for (const p of paths)
            out.push({ method, path: prefix + String(p), spec: specs?.get(method as Method) ?? undefined });
        }
      } else if (layer.handle?.stack) {
        const mounted = PREFIXES.get(layer.handle);
        // A router used without a path runs at its parent's prefix; one mounted elsewhere must go through mount().
        if (mounted !== undefined) walk(layer.handle, prefix + mounted);
        else if (layer.slash) walk(layer.handle, prefix);
        else out.push({ method: 'use', path: `${prefix}/<unknown mount path>`, spec: undefined });
      }
    }
  };
  walk(root as { stack?: LayerLike[] }, '');
  return out;
}

/** Routes without a spec: each is a defect (tests/server/openapi.test.ts fails on any). */
export function undocumentedRoutes(app: Express | Router): string[] {
  return registeredRoutes(app)
    .filter((r) => r.spec === undefined)
    .map((r) => `${r.method.toUpperCase()} ${r.path}`);
}

// ---- the OpenAPI document --------------------------------------------------------------------------------------

const ERROR_TEXT: Record<number, string> = {
  400: 'malformed or invalid request',
  401: 'no, bad, expired or revoked token',
  403: 'the role does not allow it (or a browser Origin that is not allowed)',
  404: 'no such document, thread, user or route',
  409: 'conflict',
  413: 'request body too large',
  422: 'well-formed but cannot be done',
  429: 'too many requests; see Retry-After',
  503: 'the change could not be stored; nothing changed, try again after Retry-After',
};

type Json = Record<string, unknown>;

/** A zod schema as JSON Schema 2020-12, inline (no `$schema`, no `$defs`). */
export function jsonSchema(schema: z.ZodType, io: 'input' | 'output'): Json {
  const out = z.toJSONSchema(schema, { io, unrepresentable: 'any', reused: 'inline', cycles: 'throw' }) as Json;
  delete out.$schema;
  return out;
}

/** `/documents/:id` → `/documents/{id}`. */
export const openApiPath = (path: string) => path.replace(/:([A-Za-z0-9_]+)/g, '{$1}');
const pathParams = (path: string) => [...path.matchAll(/:([A-Za-z0-9_]+)/g)].map((m) => m[1]!);

function operation(method: string, path: string, spec: RouteSpec): Json {
  const parameters: Json[] = pathParams(path).map((name) => ({
    name,
    in: 'path',
    required: true,
    schema: { type: 'string' },
  }));
  if (spec.query) {
    const q = jsonSchema(spec.query, 'input') as { properties?: Record<string, Json>; required?: string[] };
    for (const [name, schema] of Object.entries(q.properties ?? {})) {
      parameters.push({ name, in: 'query', required: q.required?.includes(name) ?? false, schema });
    }
  }
  const responses: Json = {};
  for (const [status, answer] of Object.entries(spec.responses)) {
    const type = answer.type ?? 'application/json';
    const content = answer.schema
      ? { [type]: { schema: jsonSchema(answer.schema, 'output') } }
      : answer.type
        ? { [type]: {} }
        : undefined;
    responses[status] = content ? { description: answer.description, content } : { description: answer.description };
  }
  const errors = new Map<number, string>();
  const implied = (status: number) => errors.set(status, ERROR_TEXT[status]!);
  if (spec.access !== 'anyone' && spec.access !== 'metrics-token') implied(401);
  if (spec.access === 'metrics-token') errors.set(401, 'MARGINALIA_METRICS_TOKEN is set and was not sent');
  if (['account', 'admin', 'viewer', 'commenter', 'editor', 'owner'].includes(spec.access)) implied(403);
  if (pathParams(path).includes('id') && path.startsWith('/api/documents/')) implied(404);
  if (method !== 'get' && path.startsWith('/api/')) implied(403);
  if (spec.body || spec.query) implied(400);
  if (spec.body) implied(413);
  for (const [status, text] of Object.entries(spec.errors ?? {})) errors.set(Number(status), text);
  for (const [status, text] of [...errors].sort((a, b) => a[0] - b[0])) {
    responses[status] = {
      description: text,
      content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } },
    };
  }
  const op: Json = {
    operationId: `${method}${path
      .replace(/^\/api/, '')
      .split(/[^A-Za-z0-9]+/)
      .filter(Boolean)
      .map((w) => w[0]!.toUpperCase() + w.slice(1))
      .join('')}`,
    summary: spec.summary,
    description: [spec.description, `Who: ${ACCESS_TEXT[spec.access]}.`].filter(Boolean).join('\n\n'),
    tags: [spec.tag],
    responses,
  };
  if (parameters.length) op.parameters = parameters;
  if (spec.body) {
    const schema = jsonSchema(spec.body, 'input');
    op.requestBody = {
      required: true,
      content: Object.fromEntries((spec.bodyTypes ?? ['application/json']).map((t) => [t, { schema }])),
    };
  }
  op.security =
    spec.access === 'anyone'
      ? []
      : spec.access === 'metrics-token'
        ? [{}, { metricsToken: [] }]
        : [{ bearer: [] }, { session: [] }];
  return op;
}

/** The OpenAPI 3.1 document of every route the app registers through `route()`. */
export function openApiDocument(app: Express | Router, version: string): Json {
  const paths: Record<string, Json> = {};
  for (const r of registeredRoutes(app)) {
    if (!r.spec || 'hidden' in r.spec) continue;
    const key = openApiPath(r.path);
    (paths[key] ??= {})[r.method] = operation(r.method, r.path, r.spec);
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'Marginalia API',
      version,
      description:
        'The REST API of Marginalia, generated from the schemas the server validates requests with. ' +
        'The WebSocket sync endpoint (`/collab/:docId`) and the prose around each call are in docs/API.md.',
    },
    jsonSchemaDialect: 'https://spec.openapis.org/oas/3.1/dialect/base',
    servers: [{ url: '/' }],
    paths,
    components: {
      schemas: {
        Error: {
          type: 'object',
          properties: { error: { type: 'string', description: 'what went wrong, in words a user can act on' } },
          required: ['error'],
        },
      },
      securitySchemes: {
        bearer: { type: 'http', scheme: 'bearer', description: 'a token from POST /api/auth/login or /api/auth/guest' },
        session: { type: 'apiKey', in: 'cookie', name: 'marginalia_session' },
        metricsToken: { type: 'http', scheme: 'bearer', description: 'MARGINALIA_METRICS_TOKEN' },
      },
    },
  };
}
