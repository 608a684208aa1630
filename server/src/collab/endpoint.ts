/**
 * The WebSocket endpoint `/collab/:docId?token=…`: authenticates at upgrade, checks the role, loads the
 * document, then hands the socket to a Connection. Refusals after the upgrade use close codes a browser can
 * read: 4401 (no or bad token), 4403 (no access), 4404 (no such document), 1011 (could not load).
 */
import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer } from 'ws';
import { DOC_ID, closeFor, decideAccess, type TokenRefusals } from '../access.js';
import { TokenError, type Tokens } from '../auth/tokens.js';
import type { Config } from '../config.js';
import type { Storage } from '../storage/types.js';
import { Connection, PeerSocket, type AccessCheck } from './connection.js';
import type { DocumentRegistry, EarlyHold } from './registry.js';
import type { Hooks, VerifiedPrincipal } from './hooks.js';
import { CLOSE } from './protocol.js';
import { log } from '../log.js';
import { ConnectionLimit, SharedLimits } from '../shared-limits.js';
import { SESSION_COOKIE, readCookie } from '../auth/cookies.js';

const EXPIRY_SWEEP_MS = 1000;

/** A socket's error listener, for its whole life: a plain function, so it keeps no upgrade's scope alive. */
function destroyOnError(this: Duplex): void {
  this.destroy();
}

function ignore(): void {}

export interface CollabEndpoint {
  readonly connections: Set<Connection>;
  /**
   * An access change was applied here (a sign-out, a disabled account, a membership): upgrades still between
   * their access check and their connection (the document loading) check again before they are connected.
   * `connections` are for the caller to enforce it on.
   */
  accessChanged(): void;
  /** Closes every socket with `code` (1001 on shutdown). */
  closeAll(code: number, reason: string): void;
  close(): void;
}

/** What the endpoint works with. Access checks beyond the token and the role are extensions (`onUpgrade`, `onAuthenticate`). */
export interface CollabServices {
  config: Config;
  storage: Storage;
  tokens: Tokens;
  registry: DocumentRegistry;
  hooks: Hooks;
  /** Open connections per IP address, counted across instances (default: this instance's own count). */
  connectionLimit?: ConnectionLimit;
  /** Sign-outs and disabled accounts shared by every instance (auth/access-state.ts). */
  refusals?: TokenRefusals | null;
}

export function attachCollabEndpoint(server: Server, services: CollabServices): CollabEndpoint {
  const { config, storage, tokens, registry } = services;
  const wss = new WebSocketServer({
    noServer: true,
    maxPayload: config.limits.maxFrameBytes,
    // No compression: frames are small Yjs updates, and broadcasts are written pre-framed (wire.ts).
    perMessageDeflate: false,
    // The endpoint tracks its own connections: ws would keep a set of its own and a close listener per socket.
    clientTracking: false,
    // Sockets that carry their Connection, for listeners shared by all (connection.ts).
    WebSocket: PeerSocket,
  });
  const connections = new Set<Connection>();
  /** Access changes applied here so far: an upgrade that saw this move since its check checks again. */
  let accessChanges = 0;
  // The endpoint's own bookkeeping follows the registered extensions: the open connections (pinged, closed at
  // shutdown), and the document hold each one keeps until it leaves.
  const hooks = services.hooks.with({
    onConnect: (c) => void connections.add(c),
    onDisconnect: (c) => {
      connections.delete(c);
      registry.release(c.live.id);
    },
  });
  const perIp = services.connectionLimit ?? SharedLimits.inMemory(config).connections;

  const refuseHttp = (socket: Duplex, status: number, message: string) => {
    socket.end(
      `HTTP/1.1 ${status} ${message}\r\nConnection: close\r\nContent-Type: text/plain\r\nContent-Length: ${Buffer.byteLength(message)}\r\n\r\n${message}`,
    );
  };
  const acceptThenClose = (req: IncomingMessage, socket: Duplex, head: Buffer, code: number, reason: string) => {
    wss.handleUpgrade(req, socket, head, (ws) => {
      // Until the client's close frame arrives, what it sends is still parsed: an invalid frame is an 'error' event,
      // which an emitter without a listener throws (it would end the process).
      ws.on('error', ignore);
      ws.close(code, reason);
    });
  };

  // What a connection keeps for its lifetime is made once here, for all of them, not inside the upgrade's own
  // functions: a closure keeps its whole enclosing scope alive (the upgrade request, its URL, the stored state
  // being loaded), and one per connection costs memory for each idle socket.
  // A socket's one close listener: gives back its address's count and, if it closes while upgrading, the document
  // hold (one listener per socket: a second one, added and removed around the upgrade, leaves ws's a larger list).
  const ipOf = new WeakMap<Duplex, string>();
  const upgrading = new WeakMap<Duplex, () => void>();
  function onSocketClose(this: Duplex): void {
    const ip = ipOf.get(this);
    ipOf.delete(this);
    if (ip !== undefined) perIp.close(ip);
    const giveBack = upgrading.get(this);
    upgrading.delete(this);
    giveBack?.();
  }
  const refusals = services.refusals ?? null;
  const check: AccessCheck = (principal, docId) => decideAccess(storage, refusals, principal, docId);

  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    socket.on('error', destroyOnError);
    const url = new URL(req.url ?? '/', 'http://localhost');
    const match = /^\/collab\/([^/]*)$/.exec(url.pathname);
    if (!match) return refuseHttp(socket, 404, 'Not Found');
    const docId = decodeURIComponent(match[1]!);
    if (!DOC_ID.test(docId)) return refuseHttp(socket, 400, 'Bad Request: invalid document id');
    const refusal = hooks.onUpgrade(req);
    if (refusal !== null) return refuseHttp(socket, 403, `Forbidden: ${refusal}`);
    const ip = req.socket.remoteAddress ?? 'unknown';
    void (async () => {
      let admitted: boolean;
      try {
        admitted = await perIp.tryOpen(ip);
      } catch (e) {
        log.error('connection limit failed', { error: (e as Error).message });
        return refuseHttp(socket, 500, 'Internal Server Error');
      }
      if (!admitted) return refuseHttp(socket, 429, 'Too Many Requests: too many connections from this address');
      if (socket.destroyed) return perIp.close(ip);
      ipOf.set(socket, ip);
      socket.on('close', onSocketClose);
      // A browser sends its session cookie with the upgrade; other clients pass ?token=.
      await accept(req, socket, head, docId, url.searchParams.get('token') ?? readCookie(req, SESSION_COOKIE));
    })();
  });

  async function accept(req: IncomingMessage, socket: Duplex, head: Buffer, docId: string, token: string | null) {
    let principal: VerifiedPrincipal;
    try {
      if (!token) return acceptThenClose(req, socket, head, CLOSE.unauthorized, 'token required');
      const verified = await tokens.verify(token);
      const refused = hooks.onAuthenticate(verified, docId);
      if (refused !== null) return acceptThenClose(req, socket, head, CLOSE.unauthorized, refused);
      principal = verified;
    } catch (e) {
      const reason = e instanceof TokenError ? e.message : 'invalid token';
      return acceptThenClose(req, socket, head, CLOSE.unauthorized, reason);
    }
    try {
      let checkedAt = accessChanges;
      const decided = await check(principal, docId);
      if ('refused' in decided) return acceptThenClose(req, socket, head, decided.refused, decided.reason);
      const role = decided.role;
      /**
       * Once the document is loaded: what access allows now, if an access change was applied since the last check
       * (an open connection would have been closed by it, and this one is not registered until it is made). The
       * role it was admitted with, or the close it gets instead.
       */
      const recheck = async (): Promise<{ code: number; reason: string } | null> => {
        while (checkedAt !== accessChanges) {
          checkedAt = accessChanges;
          const close = closeFor(await check(principal, docId), role);
          if (close) return close;
        }
        return null;
      };
      let hold: EarlyHold;
      try {
        hold = await registry.acquireEarly(docId);
      } catch (e) {
        log.error('document load failed', { doc: docId, error: (e as Error).message });
        return acceptThenClose(req, socket, head, CLOSE.internalError, 'document could not be loaded; try again later');
      }
      // The hold is given back here unless the upgrade completes: ws destroys a socket the client half-closed
      // meanwhile without calling back, and the connection that would release it is then never made.
      const giveBack = () =>
        hold.live.then(
          () => registry.release(docId),
          () => {},
        );
      if (socket.destroyed) return void giveBack();
      upgrading.set(socket, giveBack);
      wss.handleUpgrade(req, socket, head, (upgraded) => {
        const ws = upgraded as PeerSocket;
        upgrading.delete(socket);
        // ws handles the socket's errors from now on (it destroys the socket); one listener fewer to keep.
        socket.off('error', destroyOnError);
        // While the document is built, the client is sent its stored state and what it sends is kept for later.
        ws.listen(config.limits.maxBytesPerSecond * 2);
        const sentStored = hold.sendStoredState(ws);
        hold.live.then(
          async (live) => {
            let close;
            try {
              close = await recheck();
            } catch (e) {
              log.warn('access re-check failed', { doc: docId, error: (e as Error).message });
              close = { code: CLOSE.internalError, reason: 'access could not be checked; try again later' };
            }
            if (ws.readyState !== ws.OPEN) return registry.release(docId);
            if (close) {
              ws.close(close.code, close.reason);
              return registry.release(docId);
            }
            const sent = sentStored ? live.loadedStateVector : null;
            new Connection(ws, socket, live, principal, role, config.limits, hooks, sent, check);
          },
          (e: Error) => {
            log.error('document load failed', { doc: docId, error: e.message });
            ws.close(CLOSE.internalError, 'document could not be loaded; try again later');
          },
        );
      });
    } catch (e) {
      log.error('upgrade failed', { doc: docId, error: (e as Error).message });
      if (!socket.destroyed) refuseHttp(socket, 500, 'Internal Server Error');
    }
  }

  // Ping every interval; a peer that has not answered the previous ping is dropped.
  const pinger = setInterval(() => {
    for (const c of connections) {
      if (!c.alive) {
        c.ws.terminate();
        continue;
      }
      c.alive = false;
      c.ws.ping();
    }
  }, config.limits.pingIntervalMs);
  pinger.unref();
  // Connections whose token expired are closed within a second.
  const expiries = setInterval(() => {
    const now = Date.now();
    for (const c of [...connections]) c.expireIfDue(now);
  }, EXPIRY_SWEEP_MS);
  expiries.unref();

  return {
    connections,
    accessChanged() {
      accessChanges++;
    },
    closeAll(code, reason) {
      for (const c of [...connections]) c.close(code, reason);
    },
    close() {
      clearInterval(pinger);
      clearInterval(expiries);
      wss.close();
    },
  };
}
