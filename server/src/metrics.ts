/**
 * Prometheus metrics (prom-client), one registry per process, served as text at `GET /metrics` (http/operations.ts).
 *
 * Most values come from the lifecycle hooks (`metricsExtension`: connections, loads, stored batches, projection
 * lag) and from wrappers around the storage log (`timedLog`), so the write path knows nothing of them. What only the
 * hot path sees (bytes and frames on sockets) is counted in plain numbers (`traffic`) that the counters read when
 * scraped: a frame costs one addition, no label lookup.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { DocumentLog, EngineKind } from './storage/types.js';
import type { Extension } from './collab/hooks.js';
import type { ProjectionConsumer } from './projector/projector.js';

export const registry = new Registry();
collectDefaultMetrics({ register: registry });

/** Counted on the hot path as plain additions; read by the counters below when scraped. */
export const traffic = {
  /** Bytes of WebSocket frames received from clients. */
  bytesReceived: 0,
  /** Bytes written to client sockets (answers and broadcasts). */
  bytesSent: 0,
  /** Broadcast frames written to client sockets (one per recipient). */
  broadcastFrames: 0,
};

const registers = [registry];
/** A counter whose value is read from `traffic` when scraped. */
const trafficCounter = (name: string, help: string, read: () => number) =>
  new Counter({
    name,
    help,
    registers,
    collect() {
      this.reset();
      this.inc(read());
    },
  });

const LATENCY_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
const SLOW_BUCKETS = [0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

export const metrics = {
  connections: new Gauge({
    name: 'marginalia_ws_connections',
    help: 'Open WebSocket connections, by role',
    labelNames: ['role'] as const,
    registers,
  }),
  documentsLoaded: new Gauge({ name: 'marginalia_documents_loaded', help: 'Documents loaded', registers }),
  loadSeconds: new Histogram({
    name: 'marginalia_document_load_seconds',
    help: 'Time to load a document (read its stored state and build it)',
    buckets: SLOW_BUCKETS,
    registers,
  }),
  loadFailures: new Counter({
    name: 'marginalia_document_load_failures_total',
    help: 'Document loads that failed',
    registers,
  }),
  updatesAccepted: new Counter({
    name: 'marginalia_updates_accepted_total',
    help: 'Updates stored, applied and broadcast (from clients and server-side changes)',
    registers,
  }),
  updatesRefused: new Counter({
    name: 'marginalia_updates_refused_total',
    help: 'Client updates refused, by reason (refused: a rule; too-large; malformed; not-now; reloading; rate-limit)',
    labelNames: ['reason'] as const,
    registers,
  }),
  bytesReceived: trafficCounter(
    'marginalia_ws_received_bytes_total',
    'Bytes received from WebSocket clients',
    () => traffic.bytesReceived,
  ),
  bytesSent: trafficCounter(
    'marginalia_ws_sent_bytes_total',
    'Bytes sent to WebSocket clients',
    () => traffic.bytesSent,
  ),
  broadcastFrames: trafficCounter(
    'marginalia_broadcast_frames_total',
    'Broadcast frames written to client sockets (one per recipient)',
    () => traffic.broadcastFrames,
  ),
  slowConsumersClosed: new Counter({
    name: 'marginalia_slow_consumers_closed_total',
    help: 'Connections closed (1013) because their unsent data passed MARGINALIA_MAX_BUFFERED_BYTES',
    registers,
  }),
  storeSeconds: new Histogram({
    name: 'marginalia_store_seconds',
    help: 'Latency of the document log, by engine and operation (append: a durable batch; load: a stored state)',
    labelNames: ['engine', 'operation'] as const,
    buckets: LATENCY_BUCKETS,
    registers,
  }),
  storeFailures: new Counter({
    name: 'marginalia_store_failures_total',
    help: 'Document log operations that failed, by engine and operation',
    labelNames: ['engine', 'operation'] as const,
    registers,
  }),
  flushSeconds: new Histogram({
    name: 'marginalia_flush_seconds',
    help: 'Time from the start of a batch to its broadcast (store, apply, send)',
    buckets: LATENCY_BUCKETS,
    registers,
  }),
  fsyncSeconds: new Histogram({
    name: 'marginalia_fsync_seconds',
    help: 'SQLite: time of one fdatasync of the WAL (shared by the writes committed before it)',
    buckets: LATENCY_BUCKETS,
    registers,
  }),
  compactions: new Counter({
    name: 'marginalia_compactions_total',
    help: 'Compactions of a document log into a snapshot, by result (ok, skipped, failed)',
    labelNames: ['result'] as const,
    registers,
  }),
  compactionSeconds: new Histogram({
    name: 'marginalia_compaction_seconds',
    help: 'Duration of a compaction',
    buckets: SLOW_BUCKETS,
    registers,
  }),
  redisPublished: new Counter({
    name: 'marginalia_redis_published_total',
    help: 'Scale-out messages published to Redis, by kind (update, awareness)',
    labelNames: ['kind'] as const,
    registers,
  }),
  redisPublishFailures: new Counter({
    name: 'marginalia_redis_publish_failures_total',
    help: 'Scale-out messages that could not be published (the other instances read the log instead)',
    registers,
  }),
  redisReceived: new Counter({
    name: 'marginalia_redis_received_total',
    help: "Other instances' scale-out messages received for loaded documents, by kind",
    labelNames: ['kind'] as const,
    registers,
  }),
  replicationLag: new Gauge({
    name: 'marginalia_replication_lag_entries',
    help: 'Largest number of log entries a loaded document lacked at the last check against the shared log',
    registers,
  }),
  replicationCatchUps: new Counter({
    name: 'marginalia_replication_catchups_total',
    help: 'Times a loaded document read missing entries from the log (Redis dropped or reordered messages)',
    registers,
  }),
  projectorLag: new Histogram({
    name: 'marginalia_projector_lag_seconds',
    help: 'Per log entry stored here: time from its storing to the commit of the projection (every consumer) that covered it',
    buckets: [0.025, 0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1, 1.25, 1.5, 2, 3, 5, 10, 30, 60, 300],
    registers,
  }),
  projectorBacklog: new Gauge({
    name: 'marginalia_projector_backlog_documents',
    help: 'Documents with batches stored here and not yet projected',
    registers,
  }),
  httpRequests: new Counter({
    name: 'marginalia_http_requests_total',
    help: 'REST requests, by method, route template and status',
    labelNames: ['method', 'route', 'status'] as const,
    registers,
  }),
  httpSeconds: new Histogram({
    name: 'marginalia_http_request_duration_seconds',
    help: 'REST request latency, by method and route template',
    labelNames: ['method', 'route'] as const,
    buckets: LATENCY_BUCKETS,
    registers,
  }),
  loginFailures: new Counter({
    name: 'marginalia_login_failures_total',
    help: 'Sign-ins refused for a wrong username or password',
    registers,
  }),
  draining: new Gauge({
    name: 'marginalia_draining',
    help: '1 while the instance drains before stopping (readiness answers 503)',
    registers,
  }),
};

/** The document log with each append and load timed (per engine); failures counted. */
export function timedLog(inner: DocumentLog, engine: EngineKind): DocumentLog {
  const timed =
    <A extends unknown[], R>(operation: string, fn: (...args: A) => Promise<R>) =>
    async (...args: A): Promise<R> => {
      const started = performance.now();
      try {
        const result = await fn(...args);
        metrics.storeSeconds.observe({ engine, operation }, (performance.now() - started) / 1000);
        return result;
      } catch (e) {
        metrics.storeFailures.inc({ engine, operation });
        throw e;
      }
    };
  return {
    ...inner,
    appendUpdates: timed('append', inner.appendUpdates.bind(inner)),
    loadState: timed('load', inner.loadState.bind(inner)),
    loadLeadState: timed('load-lead', inner.loadLeadState.bind(inner)),
  };
}

/**
 * The metrics that follow documents and connections, as lifecycle hooks, and the projection lag, as a projection
 * consumer that only watches (it has no effects). One pair per server.
 */
export function metricsHooks(): { extension: Extension; consumer: ProjectionConsumer } {
  const loading = new Map<string, number>();
  const loaded = new Set<string>();
  /**
   * Per document, the batches stored here and not yet projected, in order: each one's last sequence number and
   * when it was stored. At most MAX_PENDING per document (beyond that, the oldest are dropped unobserved).
   */
  const unprojected = new Map<string, { seq: number; at: number; n: number }[]>();
  const MAX_PENDING = 100_000;
  const countedRole = new WeakMap<object, string>();
  const extension: Extension = {
    beforeLoad: async (id) => void loading.set(id, performance.now()),
    onLoad: (document) => {
      const started = loading.get(document.id);
      loading.delete(document.id);
      if (started !== undefined) metrics.loadSeconds.observe((performance.now() - started) / 1000);
      loaded.add(document.id);
      metrics.documentsLoaded.set(loaded.size);
    },
    onUnload: (id) => {
      // A document unloaded without having loaded: its load failed.
      if (loading.delete(id)) metrics.loadFailures.inc();
      loaded.delete(id);
      unprojected.delete(id);
      metrics.documentsLoaded.set(loaded.size);
      metrics.projectorBacklog.set(unprojected.size);
    },
    onStored: ({ documentId, seqs }) => {
      metrics.updatesAccepted.inc(seqs.length);
      if (!seqs.length) return;
      let pending = unprojected.get(documentId);
      if (!pending) unprojected.set(documentId, (pending = []));
      if (pending.length >= MAX_PENDING) pending.shift();
      pending.push({ seq: Math.max(...seqs), at: performance.now(), n: seqs.length });
      metrics.projectorBacklog.set(unprojected.size);
    },
    onConnect: (c) => {
      countedRole.set(c, c.role);
      metrics.connections.inc({ role: c.role });
    },
    // Counted down under the role it was counted up under (a role changed meanwhile does not move the counts).
    onDisconnect: (c) => metrics.connections.dec({ role: countedRole.get(c) ?? c.role }),
  };
  /** Drops the batches up to `seq` (observing their lag when `observe`). */
  const settle = (docId: string, seq: number, observe: boolean) => {
    const pending = unprojected.get(docId);
    if (!pending) return;
    const now = performance.now();
    let n = 0;
    while (n < pending.length && pending[n]!.seq <= seq) {
      const { at, n: entries } = pending[n]!;
      if (observe) for (let i = 0; i < entries; i++) metrics.projectorLag.observe((now - at) / 1000);
      n++;
    }
    pending.splice(0, n);
    if (!pending.length) unprojected.delete(docId);
    metrics.projectorBacklog.set(unprojected.size);
  };
  const consumer: ProjectionConsumer = {
    name: 'metrics',
    // Batches before the first entry of a step were projected elsewhere (another instance): not this one's lag.
    prepare: async ({ docId, entries }) => {
      if (entries.length) settle(docId, entries[0]!.seq - 1, false);
      return async () => {};
    },
    // The last consumer: every other consumer's effects committed (and their `committed` ran) before this.
    committed: ({ docId, entries }) => settle(docId, entries.at(-1)?.seq ?? 0, true),
  };
  return { extension, consumer };
}
