import { runLoad, ARTICLE, SMALL_ARTICLE } from './dist/scenarios.js';
import { seedState } from './dist/servers.js';
const seeds = { article: await seedState('article', ARTICLE), small: await seedState('small', SMALL_ARTICLE) };
const kinds = process.argv[2].split(',');
const spec = JSON.parse(process.argv[3]);
for (const k of kinds) {
  const t = Date.now();
  const r = await runLoad(k, spec, seeds);
  console.log(k, Date.now() - t, 'ms', JSON.stringify(r));
}
process.exit(0);
