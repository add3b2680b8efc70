/**
 * Child process for the crash-safety test: writes runs (each with 5 stages and 2 artifacts) in
 * transactions as fast as it can and prints the id of every committed run, until it is killed.
 */
import { Store } from '../../src-main/store';

const store = new Store(process.argv[2]);
let i = 0;
for (;;) {
  const id = store.runs.create({
    name: `burst-${i}`,
    recipe: { i, padding: 'x'.repeat(2000) },
    recipeHash: `h${i}`,
    seed: i,
    appVersion: 'test',
    status: 'succeeded',
    stages: Array.from({ length: 5 }, (_, k) => ({ kind: `k${k}`, params: { k } })),
  });
  store.db.transaction(() => {
    store.artifacts.create({ runId: id, name: 'a', format: 'tflite', path: `/x/${i}-a`, contentHash: 'h', bytes: i });
    store.artifacts.create({ runId: id, name: 'b', format: 'tflite', path: `/x/${i}-b`, contentHash: 'h', bytes: i });
    store.runs.setStatus(id, 'succeeded', { error: `done-${i}` });
  })();
  process.stdout.write(`committed ${id}\n`);
  i++;
}
