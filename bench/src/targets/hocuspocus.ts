/** Reference server 2: Hocuspocus 4.7 with its defaults (no extensions, no persistence), on PORT/HOST. */
import { Server } from '@hocuspocus/server';

const server = new Server({
  port: Number(process.env.PORT ?? 0),
  address: process.env.HOST ?? '127.0.0.1',
  quiet: true,
  stopOnSignals: false,
});
await server.listen();
globalThis.__benchResidentDocs = () => server.hocuspocus.getDocumentsCount();
console.log(`listening on ${server.address.port}`);
process.on('SIGINT', () => process.exit(0));
