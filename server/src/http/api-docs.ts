/**
 * The API's own description: `GET /api/openapi.json` (built from the route registry, api-spec.ts) and `/api/docs`,
 * Swagger UI served from the swagger-ui-dist package on disk (no CDN: the page works offline).
 */
import express, { Router, type Express } from 'express';
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import { z } from 'zod';
import { openApiDocument, route } from './api-spec.js';
import { notFound } from './errors.js';

const require = createRequire(import.meta.url);
/** The folder of the installed swagger-ui-dist package. */
const SWAGGER_DIR = dirname(require.resolve('swagger-ui-dist/package.json'));

/** The package's files the page loads (and their source maps, for browser tools). */
const ASSETS = new Set(
  ['swagger-ui.css', 'swagger-ui-bundle.js', 'favicon-32x32.png', 'swagger-ui.css.map', 'swagger-ui-bundle.js.map'].map(
    (f) => `/${f}`,
  ),
);

const PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Marginalia API</title>
<link rel="stylesheet" href="/api/docs/assets/swagger-ui.css">
<link rel="icon" type="image/png" href="/api/docs/assets/favicon-32x32.png">
</head>
<body>
<div id="swagger-ui"></div>
<script src="/api/docs/assets/swagger-ui-bundle.js"></script>
<script src="/api/docs/init.js"></script>
</body>
</html>
`;

// A file, not an inline script: the page's Content-Security-Policy allows scripts from this origin only.
// validatorUrl null: no badge fetched from validator.swagger.io (the page makes no request beyond this server).
const INIT = `window.ui = SwaggerUIBundle({ url: '/api/openapi.json', dom_id: '#swagger-ui', deepLinking: true, validatorUrl: null });\n`;

/** Swagger UI styles elements inline and draws icons as data: images; it needs nothing from other origins. */
const DOCS_CSP =
  "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'";

/** Routes of the description itself, mounted under /api before authentication (it is public). */
export function apiDocsRoutes(app: Express, version: string): Router {
  const r = Router();
  let document: unknown = null;
  const T = 'service';
  route(
    r,
    'get',
    '/openapi.json',
    {
      tag: T,
      summary: 'This OpenAPI 3.1 document',
      access: 'anyone',
      responses: { 200: { description: 'the document', schema: z.record(z.string(), z.unknown()) } },
    },
    (_req, res) => {
      // Built once, on first use: by then every router is mounted.
      document ??= openApiDocument(app, version);
      res.setHeader('Cache-Control', 'no-cache');
      res.json(document);
    },
  );
  route(
    r,
    'get',
    '/docs',
    {
      tag: T,
      summary: 'The API documentation page (Swagger UI over /api/openapi.json)',
      access: 'anyone',
      responses: { 200: { description: 'an HTML page', type: 'text/html', schema: z.string() } },
    },
    (_req, res) => {
      res.setHeader('Content-Security-Policy', DOCS_CSP);
      res.setHeader('Cache-Control', 'no-cache');
      res.type('html').send(PAGE);
    },
  );
  route(r, 'get', '/docs/init.js', { hidden: "the documentation page's start-up script" }, (_req, res) => {
    res.type('text/javascript').send(INIT);
  });
  // Only the files the page uses: not the package's own index.html, whose initializer points at a demo API online.
  r.use(
    '/docs/assets',
    (req, _res, next) => (ASSETS.has(req.path) ? next() : next(notFound('no such file'))),
    express.static(SWAGGER_DIR, { index: false, fallthrough: false, maxAge: '1h' }),
  );
  return r;
}
