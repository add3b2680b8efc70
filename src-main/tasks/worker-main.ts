/**
 * A task worker: a separate process (Electron utilityProcess, or a Node child process) that runs
 * the host's CPU-heavy requests one at a time (tasks/registry.ts), so the Electron main process
 * (and `serve`'s event loop) never computes them. The pool stops it when a task runs past its
 * time limit; it also exits when the host goes away.
 */
import { AppError, toErrorInfo } from '../../src-shared/errors';
import { Store } from '../store';
import { parentChannel } from '../pipeline/worker-process';
import type { FromTaskWorker, TaskRequest } from './protocol';
import { type TaskContext, type TaskName, tasks } from './registry';

const parent = parentChannel<TaskRequest, FromTaskWorker>();
const send = parent.send;

let store: Store | null = null;

async function runTask(msg: TaskRequest): Promise<unknown> {
  const task = tasks[msg.name as TaskName] as ((args: unknown, c: TaskContext) => Promise<unknown>) | undefined;
  if (!task) throw new AppError('UNSUPPORTED', `This PocketBench has no "${msg.name}" task.`);
  if (!store || store.file !== msg.paths.dbPath) {
    store?.close();
    store = new Store(msg.paths.dbPath);
  }
  const ctx: TaskContext = {
    store,
    paths: msg.paths,
    emit: (name, payload) => send({ type: 'event', name, payload }),
    progress: (progress) => send({ type: 'progress', id: msg.id, progress }),
  };
  return task(msg.args, ctx);
}

function onMessage(msg: TaskRequest): void {
  if (msg.type !== 'task') return;
  runTask(msg).then(
    (result) => send({ type: 'result', id: msg.id, ok: true, result }),
    (err: unknown) => send({ type: 'result', id: msg.id, ok: false, error: toErrorInfo(err) }),
  );
}

parent.onMessage(onMessage);

process.on('disconnect', () => process.exit(2));
