import { ensureWebBuilt } from '../local/web-build';

/**
 * `npm run build:web` (always builds) and `npm start`'s prestart step (builds only when
 * web/dist is missing or older than the page's sources): the connections page in web/dist.
 */
const force = process.argv.includes('--force');
const { built, ms } = await ensureWebBuilt({ force, log: (line) => console.log(line) });
if (built) console.log(`connections page built into web/dist in ${(ms / 1000).toFixed(1)} s`);
