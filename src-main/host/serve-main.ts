/** Entry point of `npm run serve`: prints the URL to open, runs until interrupted. */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { serve } from './server';

const { values } = parseArgs({
  options: {
    port: { type: 'string', default: process.env.POCKETBENCH_PORT ?? '8765' },
    data: { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  },
});

if (values.help) {
  console.log(`Usage: npm run serve -- [--port N] [--data DIR]

Serves PocketBench to a browser on http://127.0.0.1:N (loopback only; default port 8765, 0 picks a free one).
From another computer: ssh -L N:127.0.0.1:N lab-machine, then open the printed URL there.`);
  process.exit(0);
}

const here = path.dirname(fileURLToPath(import.meta.url));
const port = Number(values.port);
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  console.error(`--port must be a number from 0 to 65535 (got ${values.port}).`);
  process.exit(2);
}

try {
  const running = await serve({ port, dataDir: values.data, rendererDir: path.resolve(here, '../renderer'), builtDir: here });
  console.log(`PocketBench ${running.host.status().version} is serving the app (loopback only).`);
  console.log(`Data folder: ${running.host.paths.dataDir}`);
  console.log(`Open: ${running.url}`);
  const stop = async () => {
    await running.close();
    process.exit(0);
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
} catch (err) {
  const e = err as NodeJS.ErrnoException;
  if (e.code === 'EADDRINUSE') console.error(`Port ${port} is in use. Pick another with --port, or --port 0 for any free port.`);
  else console.error(e.message);
  process.exit(1);
}
