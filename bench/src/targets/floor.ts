/**
 * Calibration: the least a Node server can spend per delivered frame here — a bare `ws` server that sends one
 * ready-made 300-byte binary message to every connection, 50 times a second, and nothing else (no Yjs, no
 * protocol). Answers {cmd:'blast'} over IPC with its own CPU time (user, system) for the rounds it sent.
 * Two ways to send: `ws` (ws.send per socket, as the reference servers do) and `raw` (the WebSocket frame built
 * once, written to each socket: what Marginalia's broadcasts do).
 */
import type { AddressInfo, Socket } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';
import { frameBinary } from '@marginalia/server';

const wss = new WebSocketServer({ port: Number(process.env.PORT ?? 0), host: process.env.HOST ?? '127.0.0.1' });
const conns = new Map<WebSocket, Socket>();
wss.on('connection', (ws, req) => {
  conns.set(ws, req.socket);
  ws.on('close', () => conns.delete(ws));
});
wss.on('listening', () => console.log(`listening on ${(wss.address() as AddressInfo).port}`));

const payload = new Uint8Array(300).fill(7);
/** The message as one ready WebSocket frame, built the way Marginalia's broadcasts build theirs. */
const frame = frameBinary(payload);
process.on('message', (m: { id: number; cmd: string; rounds: number; gapMs: number; mode: 'ws' | 'raw' }) => {
  if (m?.cmd !== 'blast') return;
  const c0 = process.cpuUsage();
  let sent = 0;
  let round = 0;
  const tick = () => {
    if (m.mode === 'raw') {
      for (const socket of conns.values()) socket.write(frame);
    } else {
      for (const ws of conns.keys()) ws.send(payload);
    }
    sent += conns.size;
    if (++round < m.rounds) return void setTimeout(tick, m.gapMs);
    const c = process.cpuUsage(c0);
    process.send!({ id: m.id, result: { frames: sent, user_us: c.user, system_us: c.system } });
  };
  tick();
});
process.on('SIGINT', () => process.exit(0));
