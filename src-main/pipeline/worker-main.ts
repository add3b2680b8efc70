/**
 * The pipeline worker: a separate process (Electron utilityProcess, or a Node child process) that
 * runs one recipe, writes its results to the store itself, and reports progress to the parent.
 * Running in its own process keeps the UI responsive and lets a cancel or a crash never take the
 * app down; the run is then marked interrupted and can resume from its last checkpoint.
 */
import { type FromWorker, HEARTBEAT_MS, type ToWorker } from './protocol';
import { deliverFromHost, setHostSender } from './host-call';
import { runRecipe } from './runner';
import { parentChannel } from './worker-process';

const parent = parentChannel<ToWorker, FromWorker>();
const send = parent.send;

setHostSender(send);
setInterval(() => send({ type: 'heartbeat' }), HEARTBEAT_MS).unref();
const controller = new AbortController();
let started = false;

function onMessage(msg: ToWorker): void {
  if (msg.type === 'host-reply' || msg.type === 'host-progress') return deliverFromHost(msg);
  if (msg.type === 'cancel') {
    controller.abort();
    return;
  }
  if (msg.type === 'start' && !started) {
    started = true;
    runRecipe(msg, controller.signal, send)
      .then((done) => {
        send(done);
        // Give the parent time to receive the last message before the process exits.
        setTimeout(() => process.exit(0), 50);
      })
      .catch((err: unknown) => {
        send({ type: 'done', status: 'failed', error: (err as Error).message });
        setTimeout(() => process.exit(1), 50);
      });
  }
}

parent.onMessage(onMessage);

process.on('disconnect', () => process.exit(2));
