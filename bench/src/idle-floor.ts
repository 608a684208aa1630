/**
 * The floor under Marginalia's memory per idle connection: what a bare server keeps per open socket, measured as
 * the memory scenario measures (RSS and heap+external after a forced GC, before and after `--conns` more idle
 * connections). `net`: a TCP server that only keeps its sockets; `ws`: an HTTP server upgrading to `ws` with
 * Marginalia's options (noServer, no compression, no client tracking), one small binary message each way.
 *
 *   cd bench && npx tsc -p tsconfig.json && node dist/idle-floor.js [--conns=2000]
 */
import { fork, type ChildProcess } from 'node:child_process';
import { connect, createServer, type Socket } from 'node:net';
import { createServer as createHttpServer } from 'node:http';
import { fileURLToPath } from 'node:url';
import { WebSocket, WebSocketServer } from 'ws';
import { loadavg } from './lib/proc.js';

type Mem = { rss: number; heapUsed: number; external: number };

if (process.argv[2] === 'serve') {
  const kept: unknown[] = [];
  const mode = process.argv[3];
  const onListen = (port: number) => process.send!({ port });
  if (mode === 'net') {
    const server = createServer((s) => void kept.push(s));
    server.listen(0, '127.0.0.1', () => onListen((server.address() as { port: number }).port));
  } else {
    const wss = new WebSocketServer({ noServer: true, perMessageDeflate: false, clientTracking: false });
    const http = createHttpServer();
    http.on('upgrade', (req, socket, head) =>
      wss.handleUpgrade(req, socket, head, (ws) => {
        kept.push(ws);
        ws.on('message', () => ws.send(Uint8Array.of(0, 0, 1, 0)));
      }),
    );
    http.listen(0, '127.0.0.1', () => onListen((http.address() as { port: number }).port));
  }
  process.on('message', () => {
    const gc = (globalThis as { gc?: () => void }).gc!;
    for (let i = 0; i < 3; i++) gc();
    process.send!(process.memoryUsage());
  });
} else {
  const arg = process.argv.find((a) => a.startsWith('--conns='));
  const n = arg ? Number(arg.slice(8)) : 2000;
  const ask = (child: ChildProcess) => new Promise<Mem>((r) => (child.once('message', r), child.send('mem')));
  for (const mode of ['net', 'ws'] as const) {
    const child = fork(fileURLToPath(import.meta.url), ['serve', mode], { execArgv: ['--expose-gc'] });
    const { port } = await new Promise<{ port: number }>((r) => child.once('message', r));
    const open: (Socket | WebSocket)[] = [];
    const connectOne = () =>
      new Promise<void>((resolve, reject) => {
        if (mode === 'net') {
          const s = connect(port, '127.0.0.1', () => resolve());
          s.on('error', reject);
          open.push(s);
        } else {
          const ws = new WebSocket(`ws://127.0.0.1:${port}/`, { perMessageDeflate: false });
          ws.on('open', () => ws.send(Uint8Array.of(0, 0, 1, 0)));
          ws.once('message', () => resolve());
          ws.on('error', reject);
          open.push(ws);
        }
      });
    const batch = async (count: number) => {
      for (let i = 0; i < count; i += 50) await Promise.all(Array.from({ length: 50 }, connectOne));
    };
    await batch(200);
    await new Promise((r) => setTimeout(r, 500));
    const m1 = await ask(child);
    await batch(n);
    await new Promise((r) => setTimeout(r, 500));
    const m2 = await ask(child);
    const kb = (d: number) => (d / n / 1024).toFixed(2);
    console.log(
      `${mode}: ${n} idle connections, load ${loadavg()}: RSS ${kb(m2.rss - m1.rss)} KB, heap+external ${kb(
        m2.heapUsed + m2.external - m1.heapUsed - m1.external,
      )} KB per connection`,
    );
    for (const c of open) {
      if (c instanceof WebSocket) c.terminate();
      else c.destroy();
    }
    child.kill();
  }
}
