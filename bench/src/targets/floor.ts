/**
 * Calibration: the least a Node server can spend per delivered frame here — a bare `ws` server that sends one
 * ready-made 300-byte binary message to every connection, 50 times a second, and nothing else (no Yjs, no
 * protocol). Answers {cmd:'blast'} over IPC with its own CPU time (user, system) for the rounds it sent.
 */
import type { AddressInfo } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';

const wss = new WebSocketServer({ port: Number(process.env.PORT ?? 0), host: process.env.HOST ?? '127.0.0.1' });
const conns = new Set<WebSocket>();
wss.on('connection', (ws) => {
  conns.add(ws);
  ws.on('close', () => conns.delete(ws));
});
wss.on('listening', () => console.log(`listening on ${(wss.address() as AddressInfo).port}`));

const payload = new Uint8Array(300).fill(7);
process.on('message', (m: { id: number; cmd: string; rounds: number; gapMs: number }) => {
  if (m?.cmd !== 'blast') return;
  const c0 = process.cpuUsage();
  let sent = 0;
  let round = 0;
  const tick = () => {
    for (const ws of conns) ws.send(payload), sent++;
    if (++round < m.rounds) return void setTimeout(tick, m.gapMs);
    const c = process.cpuUsage(c0);
    process.send!({ id: m.id, result: { frames: sent, user_us: c.user, system_us: c.system } });
  };
  tick();
});
process.on('SIGINT', () => process.exit(0));
