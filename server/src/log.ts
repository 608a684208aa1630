/**
 * Structured logs (pino): one JSON line per event on stderr, or readable lines when stderr is a terminal
 * (`npm start`). `LOG_LEVEL` (trace, debug, info, warn, error, fatal, silent; default info) sets what is written.
 *
 * Call sites say `log.info(msg, fields)`; a component that logs about one thing takes a child bound to it
 * (`log.child({ doc })`, `log.child({ doc, conn })`, a request's `{ reqId }`) instead of repeating the fields.
 * Secrets are redacted whatever the caller passes: tokens, passwords, secrets, cookies and authorization headers.
 */
import { pino, type Logger, type LevelWithSilent } from 'pino';
import pretty from 'pino-pretty';

type Fields = Record<string, unknown>;

export interface Log {
  trace(msg: string, fields?: Fields): void;
  debug(msg: string, fields?: Fields): void;
  info(msg: string, fields?: Fields): void;
  warn(msg: string, fields?: Fields): void;
  error(msg: string, fields?: Fields): void;
  /** A logger whose every line carries `bindings` (a document id, a connection id, a request id). */
  child(bindings: Fields): Log;
  /** Whether a line at `level` would be written (to skip building costly fields). */
  enabled(level: LevelWithSilent): boolean;
  /** The pino logger underneath (pino-http takes it). */
  readonly pino: Logger;
}

const LEVELS: readonly string[] = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'];

/** Field names whose values never reach a log line, at the top level, one level down, and in request logs. */
const SECRET_KEYS = ['token', 'password', 'newPassword', 'secret', 'cookie', 'authorization', 'accessToken'];
export const REDACTED_PATHS = [
  ...SECRET_KEYS,
  ...SECRET_KEYS.map((k) => `*.${k}`),
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["x-metrics-token"]',
  'res.headers["set-cookie"]',
];

function createRoot(): Logger {
  const wanted = (process.env.LOG_LEVEL ?? 'info').trim().toLowerCase();
  const level = LEVELS.includes(wanted) ? wanted : 'info';
  const options = {
    level,
    redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label: string) => ({ level: label }) },
  };
  // A terminal gets readable lines; anything else (a file, a pipe, a log collector) one JSON object per line.
  const destination = process.stderr.isTTY
    ? pretty({ destination: 2, sync: true, colorize: true, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname' })
    : pino.destination({ dest: 2, sync: true });
  const root = pino(options, destination);
  if (level !== wanted) root.warn({ LOG_LEVEL: process.env.LOG_LEVEL }, `unknown LOG_LEVEL; logging at ${level}`);
  return root;
}

function wrap(logger: Logger): Log {
  return {
    trace: (msg, fields) => logger.trace(fields ?? {}, msg),
    debug: (msg, fields) => logger.debug(fields ?? {}, msg),
    info: (msg, fields) => logger.info(fields ?? {}, msg),
    warn: (msg, fields) => logger.warn(fields ?? {}, msg),
    error: (msg, fields) => logger.error(fields ?? {}, msg),
    child: (bindings) => wrap(logger.child(bindings)),
    enabled: (level) => logger.isLevelEnabled(level),
    pino: logger,
  };
}

export const log: Log = wrap(createRoot());
