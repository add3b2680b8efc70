/**
 * PocketBench's side of one row of `npm run bench:peer`, in its own process (a row that runs out
 * of memory cannot take the others with it, and its peak RSS is its own). Builds the row
 * (rows.ts), then answers the coordinator (bench/peer.bench.ts) line by line on stdin/stdout,
 * replies prefixed with "@@ ":
 *   {"cmd": "forward", "id", "shape", "x"} -> {"y", "shape"}   inference, for the equivalence check
 *   {"cmd": "steps", "n"}                   -> {"ms": [...], "loss", "peakRssMiB"}
 *   {"cmd": "quit"}
 */
import readline from 'node:readline';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../src-main/tf';
import { buildRow, describeModel, ROWS } from './rows';

const send = (o: unknown) => process.stdout.write('@@ ' + JSON.stringify(o) + '\n');
const peakRssMiB = () => Math.round(process.resourceUsage().maxRSS / 1024);

await import('@tensorflow/tfjs-layers');
const { info } = await initBackend();
const def = ROWS.find((r) => r.row === Number(process.argv[2]));
if (!def) throw new Error(`no row ${process.argv[2]}`);
const built = await buildRow(def);
send({
  backend: info.name,
  threads: info.threads,
  models: built.models.map((m) => ({ id: m.id, ...describeModel(m.model) })),
  studentInput: built.studentInput,
  teacherInput: built.teacherInput,
  classes: built.classes,
  flopsPerStep: built.flopsPerStep,
  conditions: built.conditions,
});

const lines = readline.createInterface({ input: process.stdin });
for await (const line of lines) {
  const msg = JSON.parse(line) as { cmd: string; id?: string; shape?: number[]; x?: string; n?: number };
  try {
    if (msg.cmd === 'forward') {
      const model = built.models.find((m) => m.id === msg.id)!.model;
      const x = Buffer.from(msg.x!, 'base64');
      const y = tf.tidy(() => model.predict(tf.tensor(new Float32Array(x.buffer, x.byteOffset, x.byteLength / 4), msg.shape)) as tf.Tensor);
      const v = y.dataSync() as Float32Array;
      send({ y: Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('base64'), shape: y.shape });
      y.dispose();
    } else if (msg.cmd === 'steps') {
      const ms: number[] = [];
      let loss = NaN;
      for (let i = 0; i < msg.n!; i++) {
        const t0 = performance.now();
        loss = built.step();
        ms.push(performance.now() - t0);
      }
      send({ ms, loss, peakRssMiB: peakRssMiB(), tensors: tf.memory().numTensors });
    } else if (msg.cmd === 'quit') {
      send({ bye: true });
      break;
    } else {
      throw new Error(`unknown command ${msg.cmd}`);
    }
  } catch (err) {
    send({ error: String((err as Error)?.message ?? err).split('\n')[0], peakRssMiB: peakRssMiB() });
  }
}
built.dispose();
process.exit(0);
