/**
 * Notification mail (docs/API.md, docs/OPERATIONS.md) to a real SMTP server started here (smtp-server): instant
 * mails one per notification, digests at most one per interval, plain text and HTML parts with user text escaped,
 * links to the thread's permalink; nothing for users who turned mail off.
 */
import { describe, expect, test, beforeAll, afterAll } from '@jest/globals';
import { SMTPServer } from 'smtp-server';
import type { AddressInfo } from 'node:net';
import { startServer, createDocument, addMember, api, type TestServer, type Member } from '../support/server.js';
import { waitFor } from '../support/wait.js';

const ARTICLE = 'The minister announced a new policy on Monday.\n\nCritics said the policy lacked detail.';
const DIGEST_MS = 3000;

interface Mail {
  from: string;
  to: string[];
  at: number;
  subject: string;
  text: string;
  html: string;
}

/** Decodes RFC 2047 encoded words (=?UTF-8?Q?…?= / =?UTF-8?B?…?=). */
const decodeWords = (s: string) =>
  s.replace(/=\?UTF-8\?([QB])\?(.*?)\?=\s*/gi, (_m, enc: string, text: string) =>
    enc.toUpperCase() === 'B'
      ? Buffer.from(text, 'base64').toString('utf8')
      : Buffer.from(
          text.replace(/_/g, ' ').replace(/=([0-9A-F]{2})/gi, (_x, h: string) => String.fromCharCode(parseInt(h, 16))),
          'latin1',
        ).toString('utf8'),
  );

function decodeBody(body: string, encoding: string): string {
  if (/base64/i.test(encoding)) return Buffer.from(body.replace(/\s+/g, ''), 'base64').toString('utf8');
  if (/quoted-printable/i.test(encoding))
    return Buffer.from(
      body.replace(/=\r?\n/g, '').replace(/=([0-9A-F]{2})/gi, (_x, h: string) => String.fromCharCode(parseInt(h, 16))),
      'latin1',
    ).toString('utf8');
  return body;
}

/** A small MIME reader: headers, and the text/plain and text/html parts of a multipart/alternative mail. */
function parseMail(raw: string, envelope: { from: string; to: string[] }): Mail {
  const [head, ...rest] = raw.split(/\r?\n\r?\n/);
  const headers = head!.replace(/\r?\n[ \t]+/g, ' ');
  const header = (name: string) => new RegExp(`^${name}:\\s*(.*)$`, 'im').exec(headers)?.[1] ?? '';
  const boundary = /boundary="?([^";]+)"?/i.exec(header('Content-Type'))?.[1];
  const parts: Record<string, string> = {};
  if (boundary) {
    for (const part of rest.join('\n\n').split(`--${boundary}`)) {
      const [ph, ...pb] = part.replace(/^\r?\n/, '').split(/\r?\n\r?\n/);
      const type = /content-type:\s*([^;\r\n]+)/i.exec(ph ?? '')?.[1]?.trim();
      const enc = /content-transfer-encoding:\s*(\S+)/i.exec(ph ?? '')?.[1] ?? '7bit';
      if (type) parts[type] = decodeBody(pb.join('\n\n').trim(), enc);
    }
  }
  return {
    ...envelope,
    at: Date.now(),
    subject: decodeWords(header('Subject')),
    text: parts['text/plain'] ?? '',
    html: parts['text/html'] ?? '',
  };
}

describe('notification mail', () => {
  let smtp: SMTPServer;
  let server: TestServer;
  let docId: string;
  let ann: Member;
  let vera: Member; // instant
  let dora: Member; // digest
  let otto: Member; // mail off
  const mails: Mail[] = [];
  const to = (address: string) => mails.filter((m) => m.to.includes(address));

  beforeAll(async () => {
    smtp = new SMTPServer({
      authOptional: true,
      disabledCommands: ['STARTTLS', 'AUTH'],
      logger: false,
      onData(stream, session, callback) {
        let raw = '';
        stream.setEncoding('utf8');
        stream.on('data', (d: string) => (raw += d));
        stream.on('end', () => {
          mails.push(
            parseMail(raw, {
              from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
              to: session.envelope.rcptTo.map((r) => r.address),
            }),
          );
          callback();
        });
      },
    });
    await new Promise<void>((r) => smtp.listen(0, '127.0.0.1', r));
    const port = (smtp.server.address() as AddressInfo).port;
    server = await startServer({
      env: {
        MARGINALIA_PROJECTION_DELAY_MS: '0',
        SMTP_URL: `smtp://127.0.0.1:${port}`,
        MARGINALIA_MAIL_FROM: 'Marginalia <notify@marginalia.test>',
        MARGINALIA_PUBLIC_URL: 'https://marginalia.test/',
        MARGINALIA_OUTBOX_POLL_MS: '50',
        MARGINALIA_DIGEST_INTERVAL_MS: String(DIGEST_MS),
      },
    });
    docId = await createDocument(server.url, server.adminToken, ARTICLE);
    ann = await addMember(server, docId, 'ann', 'Ann Archer', 'commenter');
    vera = await addMember(server, docId, 'vera', 'Vera Viewer', 'viewer');
    dora = await addMember(server, docId, 'dora', 'Dora Digest', 'viewer');
    otto = await addMember(server, docId, 'otto', 'Otto Off', 'viewer');
    const set = async (m: Member, body: object) => {
      const r = await api(server.url, m.token).put('/me/settings', body);
      expect(r.status).toBe(200);
      return r.body;
    };
    expect(await set(vera, { email: 'instant', emailAddress: 'vera@example.org' })).toEqual({
      email: 'instant',
      emailAddress: 'vera@example.org',
    });
    await set(dora, { email: 'digest', emailAddress: 'dora@example.org' });
    await set(otto, { emailAddress: 'otto@example.org' });
    expect((await api(server.url, otto.token).get('/me/settings')).body).toEqual({
      email: 'off',
      emailAddress: 'otto@example.org',
    });
  });
  afterAll(async () => {
    await server?.dispose();
    await new Promise<void>((r) => smtp.close(() => r()));
  });

  test('settings are checked', async () => {
    const v = api(server.url, vera.token);
    expect((await v.put('/me/settings', { email: 'weekly' })).status).toBe(400);
    expect((await v.put('/me/settings', { emailAddress: 'not an address' })).status).toBe(400);
    expect((await v.put('/me/settings', {})).status).toBe(400);
    expect((await v.get('/me/settings')).body.email).toBe('instant');
  });

  test('an instant mail: one per notification, text and HTML, user text escaped, linking to the thread', async () => {
    const body = 'See <script>alert("x")</script> & @vera @otto';
    const t = await api(server.url, ann.token).post(`/documents/${docId}/threads`, { exact: 'new policy', body });
    const [mail] = await waitFor(() => (to('vera@example.org').length ? to('vera@example.org') : null));
    expect(mail!.from).toBe('notify@marginalia.test');
    expect(mail!.subject).toBe('Ann Archer mentioned you in “Test article”');
    const link = `https://marginalia.test/d/${docId}/t/${t.body.id}`;
    // The comment as it shows: mentions by name.
    expect(mail!.text).toContain('See <script>alert("x")</script> & @Vera Viewer @Otto Off');
    expect(mail!.text).toContain(link);
    expect(mail!.html).toContain('See &lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; @Vera Viewer @Otto Off');
    expect(mail!.html).not.toContain('<script>');
    expect(mail!.html).toContain(`<a href="${link}">`);
  });

  test('a digest gathers what came within its interval into one mail', async () => {
    const post = (n: number) =>
      api(server.url, ann.token).post(`/documents/${docId}/threads`, { exact: 'Critics', body: `@dora digest ${n}` });
    await post(1);
    const [first] = await waitFor(() => (to('dora@example.org').length ? to('dora@example.org') : null));
    expect(first!.text).toContain('digest 1');
    await post(2);
    await post(3);
    await waitFor(() => to('dora@example.org').length >= 2, { timeout: DIGEST_MS + 10_000 });
    const [, second] = to('dora@example.org');
    expect(second!.subject).toBe('2 new notifications in Marginalia');
    expect(second!.text).toContain('digest 2');
    expect(second!.text).toContain('digest 3');
    // Not before the interval since the first had passed. Mails are stamped when they arrive here, the interval runs
    // from when the first was sent: its delivery (up to about a second on a loaded machine) is allowed for. A
    // digest that did not wait would arrive within a second of the first (the next projection and outbox pass).
    expect(second!.at - first!.at).toBeGreaterThanOrEqual(DIGEST_MS - 1000);
    expect(to('dora@example.org')).toHaveLength(2);
  });

  test('nobody whose mail is off is mailed, and the actor never is', async () => {
    // otto was mentioned above (and has an address) but chose no mail; vera's mail for that thread arrived, so
    // otto's would have been queued with it.
    await waitFor(() => to('vera@example.org').length >= 1);
    expect(to('otto@example.org')).toEqual([]);
    expect(mails.every((m) => !m.to.includes('ann@example.org'))).toBe(true);
    expect(to('vera@example.org')).toHaveLength(1);
  });
});
