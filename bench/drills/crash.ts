/**
 * drill:crash — ROUNDS rounds of SIGKILL under a write load of RATE updates/s from CLIENTS clients (editors,
 * so every update goes through the policy). Each update inserts a unique marker into the article. An update
 * counts as accepted once another client (the observer) has received it: the server broadcasts only what it
 * stored. After each kill the server restarts on the same data and a fresh client checks that every accepted
 * update is there (its clock range is in the state vector and its marker, intact, in the text). Target: 0 lost.
 *
 * Env: DRILL_ROUNDS (20), DRILL_CLIENTS (50), DRILL_RATE (200), DRILL_MIN_MS / DRILL_MAX_MS (1000 / 3000:
 * load time before the kill).
 */
import * as Y from 'yjs';
import { api, login, machine, sleep, startServer, wireClient, type WireClient } from './lib.js';

const ROUNDS = Number(process.env.DRILL_ROUNDS ?? 20);
const CLIENTS = Number(process.env.DRILL_CLIENTS ?? 50);
const RATE = Number(process.env.DRILL_RATE ?? 200);
const MIN_MS = Number(process.env.DRILL_MIN_MS ?? 1000);
const MAX_MS = Number(process.env.DRILL_MAX_MS ?? 3000);

interface Sent {
  client: number;
  /** Clock range [from, to) of the update's structs. */
  from: number;
  to: number;
  marker: string;
}

const paragraph = (doc: Y.Doc) =>
  (doc.get('root', Y.XmlText).toDelta() as { insert: unknown }[])
    .map((d) => d.insert)
    .find((x): x is Y.XmlText => x instanceof Y.XmlText)!;

async function main(): Promise<void> {
  const started = new Date();
  const machineAtStart = machine();
  const server = await startServer({ MARGINALIA_MAX_CONNECTIONS_PER_IP: '10000' });
  const admin = await login(server.url, 'admin', 'admin-password');
  const call = api(server.url, admin);
  await call('POST', '/users', { username: 'writer', password: 'writer-password', name: 'Writer' });
  const doc = await call('POST', '/documents', {
    title: 'Crash drill',
    format: 'text',
    content: 'Crash drill article.\n\nSecond paragraph.',
  });
  const docId = doc.body.id as string;
  await call('PUT', `/documents/${docId}/members/writer`, { role: 'editor' });
  const token = await login(server.url, 'writer', 'writer-password');

  const rows: string[] = [];
  let totalSent = 0;
  let totalAccepted = 0;
  let totalLost = 0;
  let totalExtra = 0;
  for (let round = 1; round <= ROUNDS; round++) {
    const observer = wireClient(server.wsUrl, docId, admin);
    const clients: WireClient[] = Array.from({ length: CLIENTS }, () => wireClient(server.wsUrl, docId, token));
    await Promise.all([observer.synced, ...clients.map((c) => c.synced)]);
    const sent: Sent[] = [];
    // each client writes every CLIENTS / RATE seconds, the clients spread evenly over that period
    const period = (1000 * CLIENTS) / RATE;
    let seq = 0;
    const timers = clients.map((c, i) =>
      setTimeout(
        () => {
          const p = paragraph(c.doc);
          const write = () => {
            const before = Y.getState(c.doc.store, c.doc.clientID);
            const marker = `<r${round}u${++seq}>`;
            // at the end of the paragraph, so no later insert splits a marker (Yjs splits an item typed into)
            p.insert(p.length, marker);
            sent.push({ client: c.doc.clientID, from: before, to: Y.getState(c.doc.store, c.doc.clientID), marker });
          };
          write();
          timers[i] = setInterval(write, period);
        },
        (i * period) / CLIENTS,
      ),
    );
    const loadMs = MIN_MS + Math.random() * (MAX_MS - MIN_MS);
    await sleep(loadMs);
    // what the observer has received before the kill is what the server accepted (stored)
    const seen = Y.decodeStateVector(Y.encodeStateVector(observer.doc));
    await server.kill();
    for (const t of timers) clearInterval(t as NodeJS.Timeout);
    const accepted = sent.filter((s) => (seen.get(s.client) ?? 0) >= s.to);
    for (const c of [observer, ...clients]) c.doc.destroy();

    const restartMs = await server.restart();
    const check = wireClient(server.wsUrl, docId, admin);
    await check.synced;
    const state = Y.decodeStateVector(Y.encodeStateVector(check.doc));
    const text = paragraph(check.doc).toString();
    const lost = accepted.filter((s) => (state.get(s.client) ?? 0) < s.to || !text.includes(s.marker));
    const extra = sent.filter((s) => (seen.get(s.client) ?? 0) < s.to && (state.get(s.client) ?? 0) >= s.to).length;
    check.ws.terminate();
    check.doc.destroy();
    totalSent += sent.length;
    totalAccepted += accepted.length;
    totalLost += lost.length;
    totalExtra += extra;
    const line = `| ${round} | ${(loadMs / 1000).toFixed(1)} | ${sent.length} | ${Math.round(sent.length / (loadMs / 1000))} | ${accepted.length} | ${extra} | ${lost.length} | ${Math.round(restartMs)} |`;
    rows.push(line);
    console.log(line);
    if (lost.length)
      console.log(
        `  lost: ${lost
          .slice(0, 5)
          .map((s) => s.marker)
          .join(' ')}`,
      );
  }
  await server.stop();
  console.log(`
### drill:crash — ${started.toISOString().slice(0, 16).replace('T', ' ')} UTC

\`npm run drill:crash\` (${ROUNDS} rounds, ${CLIENTS} editor clients, ${RATE} updates/s, SIGKILL after ${MIN_MS / 1000}-${MAX_MS / 1000} s of load; SQLite).
Machine: ${machineAtStart}.

| round | load (s) | sent | sent/s | accepted (seen by another client) | stored, not yet broadcast | lost | restart (ms) |
|---:|---:|---:|---:|---:|---:|---:|---:|
${rows.join('\n')}
| **all** | | **${totalSent}** | | **${totalAccepted}** | **${totalExtra}** | **${totalLost}** | |
`);
  if (totalLost > 0) process.exitCode = 1;
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
