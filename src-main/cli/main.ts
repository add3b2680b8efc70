import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { main } from './index';

await main(process.argv, { builtDir: path.dirname(fileURLToPath(import.meta.url)) });
