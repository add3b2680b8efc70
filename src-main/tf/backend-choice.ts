/**
 * tfjs-node or WebAssembly: which one trains a given model faster on this computer.
 *
 * tfjs-node (libtensorflow) is not always faster than the wasm backend with our native kernels:
 * small models spend their time in per-op overhead, where tfjs-node's N-API calls cost more. So
 * where tfjs-node is installed, a short timed probe (a few training steps of the model on each
 * backend) decides, once per model shape, and the result is recorded in the app data folder
 * (`backend-probes.json`) with the date, so later runs and starts reuse it. The choice and its
 * reason go to the status bar and into the run's record.
 *
 * This file holds the decision and the record; the timing itself (a real training step) lives in
 * compress/train/backend-probe.ts, which passes it in as `measure`.
 */
import fs from 'node:fs';
import path from 'node:path';

export type WasmName = 'wasm+native' | 'wasm';

export interface ProbeRecord {
  /** What was probed, in words ("lenet ×1 on 28×28×1, 10 classes, batch 64"). */
  model: string;
  /** Milliseconds per training step (mean of the timed steps after a warm-up), per backend. */
  msPerStep: Record<string, number>;
  /** The backend that won. */
  chosen: string;
  date: string;
  /** What the probe ran on; a record from another machine, thread count or tfjs-node is not reused. */
  machine: string;
}

export interface Decision {
  name: string;
  /** One short sentence for the status bar: which backend runs and why. */
  reason: string;
  probe?: ProbeRecord;
}

export interface ChooseInput {
  /** The probe's key: model shape and batch size. */
  key: string;
  model: string;
  /** 'loaded', or why tfjs-node is not usable ('not installed', a load error). */
  tfjsNode: { ok: true; version: string } | { ok: false; why: string };
  wasm: WasmName;
  /** POCKETBENCH_BACKEND when set: no probe, the user's choice. */
  forced?: string;
  machine: string;
  records: ProbeRecords;
  /** Milliseconds per training step of the model on a backend (throws when it cannot train there). */
  measure: (backend: string) => Promise<number>;
  today?: string;
}

const fmt = (ms: number) => (ms < 10 ? ms.toFixed(2) : ms.toFixed(1));

function reasonFor(p: ProbeRecord, wasm: WasmName, reused: boolean): string {
  const node = p.msPerStep.tensorflow;
  const w = p.msPerStep[wasm];
  const when = reused ? `probe of ${p.date}` : 'probe just now';
  if (!Number.isFinite(node)) return `tfjs-node could not train ${p.model} in the probe (${when}); ${wasm} runs it`;
  const [fast, slow] = p.chosen === 'tensorflow' ? [node, w] : [w, node];
  const ratio = slow / fast;
  const who = p.chosen === 'tensorflow' ? 'tfjs-node' : wasm;
  return `${who} is ${ratio.toFixed(1)}× faster for ${p.model}: ${fmt(fast)} vs ${fmt(slow)} ms per step (${when})`;
}

/** Decide (probing when there is no usable record) and record what was measured. */
export async function chooseBackend(i: ChooseInput): Promise<Decision> {
  if (i.forced) return { name: i.forced, reason: `POCKETBENCH_BACKEND=${i.forced} chooses it` };
  if (!i.tfjsNode.ok) return { name: i.wasm, reason: `${i.wasm}: ${i.tfjsNode.why}` };
  const machine = `${i.machine}|tfjs-node ${i.tfjsNode.version}`;
  const old = i.records.get(i.key);
  if (old && old.machine === machine && Number.isFinite(old.msPerStep[i.wasm])) return { name: old.chosen, reason: reasonFor(old, i.wasm, true), probe: old };
  const msPerStep: Record<string, number> = {};
  // wasm first: it is the fallback, so its time must be known whatever tfjs-node does.
  msPerStep[i.wasm] = await i.measure(i.wasm);
  try {
    msPerStep.tensorflow = await i.measure('tensorflow');
  } catch {
    msPerStep.tensorflow = Number.NaN;
  }
  const chosen = Number.isFinite(msPerStep.tensorflow) && msPerStep.tensorflow < msPerStep[i.wasm] ? 'tensorflow' : i.wasm;
  const probe: ProbeRecord = { model: i.model, msPerStep, chosen, date: i.today ?? new Date().toISOString().slice(0, 10), machine };
  i.records.set(i.key, probe);
  return { name: chosen, reason: reasonFor(probe, i.wasm, false), probe };
}

/** Probe results on disk: `<dataDir>/backend-probes.json`, one entry per model key. */
export class ProbeRecords {
  private cache: Record<string, ProbeRecord> | null = null;
  constructor(private readonly file: string | null) {}

  static inDataDir(dataDir: string | undefined): ProbeRecords {
    return new ProbeRecords(dataDir ? path.join(dataDir, 'backend-probes.json') : null);
  }

  private all(): Record<string, ProbeRecord> {
    if (this.cache) return this.cache;
    this.cache = {};
    if (this.file) {
      try {
        const parsed = JSON.parse(fs.readFileSync(this.file, 'utf8')) as { probes?: Record<string, ProbeRecord> };
        this.cache = parsed.probes ?? {};
      } catch {
        // Missing or unreadable: probe again (it is short) and write a fresh file.
      }
    }
    return this.cache;
  }

  get(key: string): ProbeRecord | undefined {
    return this.all()[key];
  }

  set(key: string, r: ProbeRecord): void {
    this.all()[key] = r;
    if (!this.file) return;
    try {
      fs.mkdirSync(path.dirname(this.file), { recursive: true });
      const tmp = `${this.file}.${process.pid}.tmp`;
      fs.writeFileSync(tmp, `${JSON.stringify({ probes: this.cache }, null, 2)}\n`);
      fs.renameSync(tmp, this.file);
    } catch {
      // Not recorded: the next start probes again. Never worth failing a run over.
    }
  }
}
