export { loadConfig, type Config, type Limits } from './config.js';
export { startServer, openStorage, type RunningServer } from './server.js';
export { openSqliteStorage } from './storage/sqlite.js';
export type { Storage } from './storage/types.js';
export { createDocument } from './documents.js';
export { frameBinary } from './collab/wire.js';
