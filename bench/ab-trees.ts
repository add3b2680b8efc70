/**
 * `npx tsx bench/ab-trees.ts --base DIR [--rows 4,8] [--rounds N] [--threads N]`: PocketBench's training
 * step of bench:peer rows in two source trees, A B A B: a `bench/peer/pb-worker.ts` of DIR (another
 * checkout with its own built add-on, e.g. `git worktree add --detach /tmp/base COMMIT`) and one of this
 * tree run one step each in turn, so both see the same load within a second. Prints per row the median
 * of the per-round ratios base ms / this ms (above 1: this tree is faster) and each side's median ms.
 * Diagnostic (the peer comparison itself is `npm run bench:peer`); records nothing.
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import readline from 'node:readline';

const args = process.argv.slice(2);
const flag = (name: string) => (args.includes(name) ? args[args.indexOf(name) + 1] : undefined);
const base = flag('--base');
if (!base) throw new Error('--base DIR is required (a checkout of the commit to compare with, its add-on built)');
const rows = (flag('--rows') ?? '4,5,6,7,8').split(',').map(Number);
const rounds = Number(flag('--rounds') ?? 7);
const threads = flag('--threads');
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

type Reply = Record<string, unknown> & { error?: string; ms?: number[]; backend?: string };

function worker(tree: string, row: number) {
  const env = { ...process.env, ...(threads ? { POCKETBENCH_THREADS: threads } : {}) };
  const proc = spawn(process.execPath, ['--import', 'tsx', path.join(tree, 'bench', 'peer', 'pb-worker.ts'), String(row)], { cwd: tree, env, stdio: ['pipe', 'pipe', 'inherit'] });
  const waiting: ((r: Reply) => void)[] = [];
  readline.createInterface({ input: proc.stdout! }).on('line', (line) => {
    if (line.startsWith('@@ ')) waiting.shift()?.(JSON.parse(line.slice(3)) as Reply);
  });
  proc.on('exit', () => waiting.splice(0).forEach((w) => w({ error: `worker of ${tree} exited` })));
  const next = () => new Promise<Reply>((resolve) => waiting.push(resolve));
  return {
    hello: next(),
    ask: (msg: object) => {
      const r = next();
      proc.stdin!.write(JSON.stringify(msg) + '\n');
      return r;
    },
    stop: () => proc.kill(),
  };
}

for (const row of rows) {
  const a = worker(path.resolve(base), row);
  const b = worker(process.cwd(), row);
  const [ha, hb] = await Promise.all([a.hello, b.hello]);
  if (ha.error || hb.error) throw new Error(`row ${row}: ${ha.error ?? hb.error}`);
  if (ha.backend !== hb.backend) console.log(`  note: backends differ (${ha.backend} vs ${hb.backend})`);
  await a.ask({ cmd: 'steps', n: 1 });
  await b.ask({ cmd: 'steps', n: 1 });
  const ta: number[] = [];
  const tb: number[] = [];
  for (let r = 0; r < rounds; r++) {
    const ra = await a.ask({ cmd: 'steps', n: 1 });
    const rb = await b.ask({ cmd: 'steps', n: 1 });
    if (ra.error || rb.error) throw new Error(`row ${row}: ${ra.error ?? rb.error}`);
    ta.push(ra.ms![0]);
    tb.push(rb.ms![0]);
  }
  a.stop();
  b.stop();
  const ratios = ta.map((t, i) => t / tb[i]);
  console.log(`row ${row} (${hb.backend}, ${hb.threads} threads): base ${median(ta).toFixed(1)} ms, this ${median(tb).toFixed(1)} ms, ` +
    `speedup ${median(ratios).toFixed(2)}× (rounds ${ratios.map((x) => x.toFixed(2)).join(' ')})`);
}
process.exit(0);
