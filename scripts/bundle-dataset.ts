/**
 * `npm run package` step: copy (or download) the four verified Fashion-MNIST files into
 * resources/datasets/fashion-mnist, which electron-builder ships as `<resources>/datasets`.
 * Usage: tsx scripts/bundle-dataset.ts [OUT_DIR]
 */
import path from 'node:path';
import { describeDatasetDownload } from '../src-shared/format';
import { bundleFashionMnist } from '../src-main/data/fashion-mnist-download';
import { resolvePaths } from '../src-main/host/paths';

const out = path.resolve(process.argv[2] ?? path.join(import.meta.dirname, '..', 'resources', 'datasets', 'fashion-mnist'));
let shown = '';
try {
  const from = await bundleFashionMnist(out, {
    dataDir: resolvePaths().dataDir,
    onProgress: (p) => {
      const line = describeDatasetDownload(p);
      if (process.stderr.isTTY) process.stderr.write(`\r\x1b[K${line}`);
      else if (p.phase !== 'download' && line !== shown) process.stderr.write(`${line}\n`);
      shown = line;
    },
  });
  if (shown && process.stderr.isTTY) process.stderr.write('\n');
  for (const [file, src] of Object.entries(from)) console.log(`bundled ${file} (verified) from ${src}`);
  console.log(`Fashion-MNIST is in ${out}`);
} catch (err) {
  console.error(`\nbundle-dataset: ${(err as Error).message}`);
  process.exit(1);
}
