/**
 * The `search` stage: "find the best model for this device". Given the teacher in `slots.teacher`,
 * the run's dataset, one target and a budget, it
 *
 * 1. measures the reference: the teacher's FP32 `.tflite` (validation accuracy in LiteRT, latency on
 *    the target);
 * 2. lists architectures (student template × width × input resolution), drops those whose file
 *    cannot fit the size budget, measures a few untrained latency probes and fits the latency model
 *    (latency-model.ts), then drops architectures it predicts cannot meet the latency budget;
 * 3. distils every architecture from the teacher for a few epochs, keeps the best 1/eta (accuracy
 *    against predicted latency, halving.ts), trains those longer, and so on up to the finalists;
 * 4. tries each finalist at every sparsity (gradual magnitude pruning) and precision (FP16, dynamic
 *    range, full INT8, INT8 with its most sensitive layer in float): each is exported, stored as an
 *    artifact with its recipe, validated in LiteRT, and benchmarked on the target (cached by the
 *    file's hash) unless the latency model rules it out;
 * 5. recommends the fastest candidate that meets the budget on validation, then measures its test
 *    accuracy once, on its exported `.tflite` (result.ts).
 *
 * Everything finished is recorded in `search.json` in the checkpoint folder, so a cancelled,
 * crashed or disconnected search resumes without training or measuring anything twice.
 */
import fs from 'node:fs';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { AppError } from '../../../src-shared/errors';
import type { SearchPrecision, SearchStageSpec } from '../../../src-shared/recipe';
import { archId, candidateId, type SearchArch, type SearchCandidate, type SearchResult } from '../../../src-shared/search';
import { calibrationSample, type LoadedDataset, stratifiedSample, subset, trainingView } from '../../data';
import { deriveSeed } from '../../data/rng';
import { exportModelArtifact } from '../../export/service';
import type { ExportPrecision } from '../../export/exporter';
import { buildTemplate, loadModel, saveModel, summarizeModel, type TemplateSpec } from '../../models';
import type { ModelRef, StageContext, StageResult } from '../../pipeline/stage';
import { initBackend } from '../../tf';
import { cancelPoint } from '../../tf/cancel';
import { cachedTeacher, kdObjective, type TeacherSource } from '../distill/objectives';
import { loadTeacher, teacherTemplate } from '../distill/stage-io';
import { modelView, splitFor } from '../train/model-view';
import { stepsPerEpoch } from '../prune/fine-tune';
import { MASK_UPDATES, prunePolynomial, RAMP_SHARE } from '../prune/gradual';
import { polynomialDecay } from '../prune/schedule';
import { calibrateMinMax } from '../quantize/minmax';
import { layerSensitivity } from '../quantize/sensitivity';
import { fit, storeModelArtifact } from '../train';
import { loadRunDataset } from '../train/run-data';
import { exportTflite } from '../../export/service';
import { FINALISTS, rungSchedule, selectSurvivors, type Rung } from './halving';
import { LATENCY_FEATURES, type LatencyFeatures, LatencyModel, latencyFeatures, type Measurement, relativeErrors, skipTolerance } from './latency-model';
import { agreement, measureLatency, tflitePredictions } from './measure';
import { atResolution } from './resolution';
import { budgetMisses, chooseRecommended, closestMiss, frontiers, margins, type Reference } from './result';

type Ctx = StageContext<SearchStageSpec>;

/** Validation images the INT8 sensitivity sweep uses to pick the layer kept in float. */
const SENSITIVITY_SAMPLES = 500;
const CALIBRATION_SAMPLES = 256;

interface ArchState {
  id: string;
  arch: SearchArch;
  status: 'active' | 'dropped';
  droppedBecause?: SearchCandidate['droppedBecause'];
  reason?: string;
  rung: number;
  epochs: number;
  valAccuracy?: number;
  /** Saved weights after the last rung it trained in. */
  weights?: string;
  params: number;
  /** Untrained file bytes per precision (weights do not change a file's size). */
  bytes: Partial<Record<SearchPrecision, number>>;
  predictedUs?: number;
}

interface State {
  version: 1;
  reference?: {
    tfliteArtifactId: number;
    path: string;
    valAccuracy: number;
    valPredictions: number[];
    latencyUs: number;
    ciUs: [number, number] | null;
    bytes: number;
    testAccuracy?: number;
  };
  archs?: ArchState[];
  schedule?: Rung[];
  probesDone: boolean;
  rungsDone: number;
  measurements: Measurement[];
  heldOut: { predictedUs: number; measuredUs: number }[];
  skipped: number;
  /** Stored TF.js artifact per finalist and sparsity (`<arch id> s<sparsity>`). */
  models: Record<string, number>;
  /** Exported and validated, not yet measured. */
  pending: Record<string, SearchCandidate>;
  candidates: SearchCandidate[];
  recommendedTest?: number;
  /** The end-of-search paired latencies (µs): teacher FP32 and the recommended file, alternated. */
  paired?: { teacherUs: number[]; recommendedUs: number[]; teacherBestUs: number[]; recommendedBestUs: number[] };
  work: SearchResult['work'];
  elapsedMs: number;
}

const fresh = (): State => ({ version: 1, probesDone: false, rungsDone: 0, measurements: [], heldOut: [], skipped: 0, models: {}, pending: {}, candidates: [], work: { trainedEpochs: 0, exports: 0, benchmarks: 0, cachedBenchmarks: 0 }, elapsedMs: 0 });

const slug = (s: string) => s.replace(/[^a-zA-Z0-9.=-]+/g, '_');
const exportPrecision = (p: SearchPrecision): ExportPrecision => (p === 'int8-mixed' ? 'int8' : p);
const ms = (us: number) => `${(us / 1000).toFixed(3)} ms`;

class SearchRun {
  private readonly stateFile: string;
  readonly state: State;
  private readonly lm = new LatencyModel();
  private readonly started = Date.now();
  private readonly elapsedBefore: number;
  private ds!: LoadedDataset;
  private readonly byResolution = new Map<number | null, LoadedDataset>();
  private teacher!: Awaited<ReturnType<typeof loadTeacher>>;
  private teacherTable!: Float32Array;
  private numClasses = 0;
  private unitsDone = 0;
  private unitsPlanned = 1;
  private unitsAtStart = 0;

  constructor(private readonly ctx: Ctx) {
    this.stateFile = path.join(ctx.checkpointDir, 'search.json');
    if (ctx.resuming && fs.existsSync(this.stateFile)) {
      this.state = JSON.parse(fs.readFileSync(this.stateFile, 'utf8')) as State;
    } else {
      for (const f of fs.readdirSync(ctx.checkpointDir)) fs.rmSync(path.join(ctx.checkpointDir, f), { recursive: true, force: true });
      this.state = fresh();
    }
    for (const m of this.state.measurements) this.lm.add(m);
    this.elapsedBefore = this.state.elapsedMs;
  }

  private get spec(): SearchStageSpec {
    return this.ctx.stage;
  }

  private save(): void {
    this.state.elapsedMs = this.elapsedBefore + (Date.now() - this.started);
    fs.writeFileSync(`${this.stateFile}.tmp`, JSON.stringify(this.state));
    fs.renameSync(`${this.stateFile}.tmp`, this.stateFile);
  }

  private progress(phase: string, message: string, partial = 0): void {
    const done = this.unitsDone + partial;
    const fraction = Math.min(0.999, done / this.unitsPlanned);
    const doneHere = done - this.unitsAtStart;
    const spent = Date.now() - this.started;
    const etaMs = doneHere > 0.05 ? Math.round((spent / doneHere) * Math.max(0, this.unitsPlanned - done)) : undefined;
    this.ctx.progress({ phase, message, fraction, ...(etaMs !== undefined ? { etaMs } : {}) });
  }

  private data(resolution: number | null): LoadedDataset {
    let d = this.byResolution.get(resolution);
    if (!d) {
      d = atResolution(this.ds, resolution);
      this.byResolution.set(resolution, d);
    }
    return d;
  }

  async run(): Promise<StageResult> {
    await initBackend();
    this.ds = await loadRunDataset(this.ctx);
    this.numClasses = this.ds.info.classes.length;
    this.teacher = await loadTeacher(this.ctx);
    try {
      await this.reference();
      this.listArchitectures();
      this.plan();
      await this.probes();
      this.dropHopeless();
      this.teacherTable = cachedTeacher(this.teacher.model, splitFor(this.ds.train, modelView(this.teacher.meta, this.ds))).table;
      await this.rungs();
      await this.finalists();
      return await this.finish();
    } finally {
      this.teacher.model.dispose();
      this.save();
    }
  }

  /** The teacher's FP32 .tflite: the reference every budget is measured against. */
  private async reference(): Promise<void> {
    if (this.state.reference) return;
    this.progress('reference', "Exporting the teacher's FP32 .tflite");
    const { artifact } = await exportModelArtifact(this.ctx.store, { artifactId: this.teacher.ref.artifactId, precision: 'fp32', runId: this.ctx.runId, stageId: this.ctx.stageId, artifactsDir: this.ctx.paths.artifactsDir, dataset: this.ds });
    this.state.work.exports++;
    this.progress('reference', "Validating the teacher's .tflite in LiteRT");
    // An imported teacher takes the images in its own size and normalization.
    const pred = await tflitePredictions(artifact.path, splitFor(this.ds.val, modelView(this.teacher.meta, this.ds)), this.ctx.signal);
    const lat = await this.measure(artifact.path, artifact.id, 'teacher FP32', latencyFeatures(this.teacher.model, 'fp32'));
    this.state.reference = { tfliteArtifactId: artifact.id, path: artifact.path, valAccuracy: agreement(pred, this.ds.val.y), valPredictions: Array.from(pred), latencyUs: lat.latencyUs, ciUs: lat.ciUs, bytes: artifact.bytes };
    this.save();
  }

  private listArchitectures(): void {
    if (this.state.archs) return;
    const s = this.spec.space;
    const template = teacherTemplate(this.ctx.recipe, this.ctx);
    const templates = s.templates?.length ? s.templates : template ? [template] : [];
    if (!templates.length) throw new AppError('INVALID_ARGS', "Pick the students' templates (space.templates): the teacher was loaded from a file, so its template is not known.");
    const image = this.ds.info.modality === 'image';
    const native = image ? this.ds.info.inputShape[0] : null;
    const resolutions = image ? [...new Set(s.resolutions?.length ? s.resolutions : [native!])] : [null];
    for (const r of resolutions) {
      if (r !== null && native !== null && r > native) throw new AppError('INVALID_ARGS', `Resolution ${r} is larger than the images (${native}×${native}); pick sides up to ${native}.`);
    }
    const archs: ArchState[] = [];
    const cal = calibrationSample(this.ds.train, 64, this.ctx.seed);
    for (const t of templates) {
      for (const width of [...new Set(s.widths)].sort((a, b) => a - b)) {
        for (const resolution of resolutions) {
          const arch: SearchArch = { template: t, width, resolution };
          const a: ArchState = { id: archId(arch), arch, status: 'active', rung: -1, epochs: 0, params: 0, bytes: {} };
          archs.push(a);
          cancelPoint();
          let model: tfl.LayersModel;
          try {
            model = buildTemplate(this.templateSpec(arch));
          } catch (err) {
            Object.assign(a, { status: 'dropped', droppedBecause: 'failed', reason: `cannot be built: ${(err as Error).message}` });
            continue;
          }
          try {
            a.params = summarizeModel(model, { nonZero: false }).totals.params;
            const calR = resolution === null ? cal : { ...cal, ...resizeCal(cal, resolution) };
            const quant = this.spec.space.precisions.some((p) => p.startsWith('int8') && p !== 'int8-dynamic') ? calibrateMinMax(model, calR).params : undefined;
            for (const p of this.spec.space.precisions) {
              const built = exportTflite(model, { precision: exportPrecision(p), ...(exportPrecision(p) === 'int8' ? { quant } : {}), outDir: path.join(this.ctx.checkpointDir, 'probes') });
              a.bytes[p] = built.bytes.length;
            }
          } finally {
            model.dispose();
          }
          const maxBytes = this.spec.budget.maxBytes;
          const smallest = Math.min(...Object.values(a.bytes));
          if (maxBytes !== undefined && smallest > maxBytes) Object.assign(a, { status: 'dropped', droppedBecause: 'size', reason: `its smallest file would be ${smallest} bytes, over the ${maxBytes}-byte budget` });
        }
      }
    }
    if (!archs.some((a) => a.status === 'active')) {
      this.state.archs = archs;
      this.save();
      return;
    }
    this.state.archs = archs;
    this.save();
  }

  private templateSpec(arch: SearchArch): TemplateSpec {
    const shape = arch.resolution === null ? this.ds.info.inputShape : [arch.resolution, arch.resolution, this.ds.info.inputShape[2]];
    return { template: arch.template, inputShape: shape, numClasses: this.numClasses, width: arch.width, seed: deriveSeed(this.ctx.seed, `search ${archId(arch)}`) } as TemplateSpec;
  }

  private active(): ArchState[] {
    return (this.state.archs ?? []).filter((a) => a.status === 'active');
  }

  /** Work units for progress and ETA: one per training epoch, a fifth per export and benchmark. */
  private plan(): void {
    const s = this.spec.strategy;
    this.state.schedule ??= rungSchedule(this.active().length, s.eta, s.minEpochs, s.maxEpochs);
    const sched = this.state.schedule;
    let units = 2;
    let prev = 0;
    for (const r of sched) {
      units += r.size * (r.epochs - prev);
      prev = r.epochs;
    }
    const finalists = Math.min(FINALISTS, this.active().length);
    const sparse = this.spec.space.sparsities.filter((x) => x > 0).length;
    units += finalists * (sparse * s.pruneEpochs + this.spec.space.sparsities.length * this.spec.space.precisions.length * 0.4);
    this.unitsPlanned = units;
    // Units already done (a resumed search).
    let done = this.state.reference ? 1 : 0;
    for (const a of this.state.archs ?? []) done += a.epochs;
    done += this.state.candidates.length * 0.4 + Object.keys(this.state.models).filter((k) => !k.endsWith(' s0')).length * s.pruneEpochs;
    this.unitsDone = this.unitsAtStart = Math.min(done, units);
  }

  private async measure(file: string, artifactId: number | null, what: string, features: LatencyFeatures): Promise<{ latencyUs: number; bestUs: number; ciUs: [number, number] | null; benchmarkId: number; cached: boolean; predictedUs: number | null }> {
    const predictedUs = this.lm.predictUs(features);
    const where = this.spec.target === 'host' ? 'this computer' : this.spec.target;
    const lat = await measureLatency(this.ctx, file, artifactId, this.spec.target, this.spec.bench, (message, f) => this.progress('benchmark', `${what} on ${where}: ${message}`, f * 0.1));
    if (lat.cached) this.state.work.cachedBenchmarks++;
    else this.state.work.benchmarks++;
    // The model is fitted to the quietest trial: the steadiest figure on a busy machine.
    const m = { features, latencyUs: lat.bestUs };
    this.state.measurements.push(m);
    this.lm.add(m);
    return { ...lat, predictedUs };
  }

  /** Untrained models measured to fit the latency model: the cheapest and the costliest architecture, in each compute mode. */
  private async probes(): Promise<void> {
    if (this.state.probesDone) return;
    const act = this.active();
    if (act.length) {
      const byParams = [...act].sort((a, b) => a.params - b.params);
      const picks = [...new Set([byParams[0], byParams[byParams.length - 1]])];
      const ps = this.spec.space.precisions;
      const modes: SearchPrecision[] = [];
      if (ps.includes('fp32') || ps.includes('fp16')) modes.push(ps.includes('fp32') ? 'fp32' : 'fp16');
      if (ps.includes('int8') || ps.includes('int8-mixed')) modes.push('int8');
      if (ps.includes('int8-dynamic')) modes.push('int8-dynamic');
      const cal = calibrationSample(this.ds.train, 64, this.ctx.seed);
      for (const a of picks) {
        cancelPoint();
        const model = buildTemplate(this.templateSpec(a.arch));
        try {
          const calR = a.arch.resolution === null ? cal : { ...cal, ...resizeCal(cal, a.arch.resolution) };
          for (const p of modes) {
            this.ctx.throwIfCancelled();
            this.progress('latency probes', `Latency probe ${a.id} ${p} (untrained: latency does not depend on the weights)`);
            const quant = p === 'int8' ? calibrateMinMax(model, calR).params : undefined;
            const built = exportTflite(model, { precision: exportPrecision(p), ...(quant ? { quant } : {}), outDir: path.join(this.ctx.checkpointDir, 'probes') });
            await this.measure(built.path, null, `probe ${a.id} ${p}`, latencyFeatures(model, p));
          }
        } finally {
          model.dispose();
        }
      }
    }
    this.state.probesDone = true;
    this.save();
  }

  /** Predicted best latency of each architecture; drop those that cannot meet the latency budget even if the model is optimistic. */
  private dropHopeless(): void {
    const budgetUs = this.spec.budget.maxLatencyMs !== undefined ? this.spec.budget.maxLatencyMs * 1000 : null;
    const tol = skipTolerance(relativeErrors(this.state.heldOut));
    for (const a of this.active()) {
      cancelPoint();
      const model = buildTemplate(this.templateSpec(a.arch));
      try {
        const preds = this.spec.space.precisions.map((p) => ({ p, us: this.lm.predictUs(latencyFeatures(model, p)) ?? Infinity }));
        const best = preds.reduce((x, y) => (y.us < x.us ? y : x));
        a.predictedUs = best.us;
        if (budgetUs !== null && best.us * (1 - tol) > budgetUs) {
          Object.assign(a, { status: 'dropped', droppedBecause: 'latency-model', reason: `predicted ${ms(best.us)} at best (${best.p}); even ${Math.round(tol * 100)} % faster it would miss the ${ms(budgetUs)} budget` });
          this.state.skipped++;
        }
      } finally {
        model.dispose();
      }
    }
    this.save();
  }

  private async rungs(): Promise<void> {
    const sched = this.state.schedule!;
    for (let r = this.state.rungsDone; r < sched.length; r++) {
      const rung = sched[r];
      const act = this.active();
      for (const a of act) {
        if (a.rung >= r) continue;
        await this.train(a, r, rung.epochs);
        this.save();
      }
      if (r + 1 < sched.length) {
        const { dropped } = selectSurvivors(
          act.map((a) => ({ id: a.id, valAccuracy: a.valAccuracy ?? 0, predictedLatencyUs: a.predictedUs ?? Infinity })),
          sched[r + 1].size,
        );
        for (const a of act) {
          const why = dropped.get(a.id);
          if (why) Object.assign(a, { status: 'dropped', droppedBecause: 'halving', reason: `dropped after rung ${r + 1} (${a.epochs} epochs): ${why}` });
        }
      }
      this.state.rungsDone = r + 1;
      this.save();
    }
  }

  /** Distil one architecture from the teacher up to `epochs` in total (continuing from its last rung). */
  private async train(a: ArchState, r: number, epochs: number): Promise<void> {
    const s = this.spec.strategy;
    const d = this.data(a.arch.resolution);
    let train = d.train;
    let source: TeacherSource = tableSource(this.teacherTable, this.numClasses, null);
    if (r === 0 && s.firstRungImages && s.firstRungImages < d.train.n) {
      const idx = stratifiedSample(d.train.y, this.numClasses, s.firstRungImages, deriveSeed(this.ctx.seed, 'search first rung'));
      train = subset(d.train, idx);
      source = tableSource(this.teacherTable, this.numClasses, idx);
    }
    const model = a.weights ? (await loadModel(a.weights)).model : buildTemplate(this.templateSpec(a.arch));
    const objective = kdObjective(model, source, s.temperature, s.alpha);
    const add = epochs - a.epochs;
    const phase = `rung ${r + 1}/${this.state.schedule!.length}`;
    let last = 0;
    try {
      const res = await fit({
        model,
        data: { info: d.info, train, val: d.val },
        epochs: add,
        batchSize: s.batchSize,
        optimizer: 'adam',
        lr: s.learningRate,
        seed: deriveSeed(this.ctx.seed, `${a.id} rung ${r}`),
        signal: this.ctx.signal,
        throwIfCancelled: this.ctx.throwIfCancelled,
        lossFn: objective.loss,
        samples: 'all',
        checkpoint: { dir: path.join(this.ctx.checkpointDir, 'train', `${slug(a.id)}-r${r}`), resume: true },
        onBatch: (p) => {
          const now = Date.now();
          if (now - last < 250 && p.batch < p.batches) return;
          last = now;
          this.progress(phase, `${phase}: distilling ${a.id}, epoch ${a.epochs + p.epoch}/${epochs}`, p.fraction * add * (train.n / d.train.n));
        },
      });
      this.unitsDone += add * (train.n / d.train.n);
      this.state.work.trainedEpochs += add;
      const saved = await saveModel(model, path.join(this.ctx.checkpointDir, 'weights'));
      if (a.weights && a.weights !== saved.path) fs.rmSync(a.weights, { recursive: true, force: true });
      Object.assign(a, { weights: saved.path, rung: r, epochs, valAccuracy: res.val?.accuracy ?? 0 });
      fs.rmSync(path.join(this.ctx.checkpointDir, 'train', `${slug(a.id)}-r${r}`), { recursive: true, force: true });
    } finally {
      objective.dispose();
      model.dispose();
    }
  }

  private async finalists(): Promise<void> {
    for (const a of this.active()) {
      for (const sparsity of this.spec.space.sparsities) {
        cancelPoint();
        const modelId = await this.candidateModel(a, sparsity);
        const stored = this.ctx.store.artifacts.get(modelId)!;
        const { model } = await loadModel(stored.path);
        try {
          for (const p of this.spec.space.precisions) {
            const id = candidateId(a.arch, sparsity, p);
            if (this.state.candidates.some((c) => c.id === id)) continue;
            this.ctx.throwIfCancelled();
            const c = await this.candidate(a, sparsity, p, model, modelId, id);
            this.state.candidates.push(c);
            delete this.state.pending[id];
            this.unitsDone += 0.4;
            this.save();
          }
        } finally {
          model.dispose();
        }
      }
    }
  }

  /** The finalist's trained student at `sparsity` (pruned and fine-tuned), stored as an artifact with its recipe. */
  private async candidateModel(a: ArchState, sparsity: number): Promise<number> {
    const key = `${a.id} s${sparsity}`;
    if (this.state.models[key]) return this.state.models[key];
    const s = this.spec.strategy;
    const d = this.data(a.arch.resolution);
    const { model } = await loadModel(a.weights!);
    let out = model;
    try {
      if (sparsity > 0) {
        const batches = stepsPerEpoch(trainingView(d), s.batchSize);
        const endStep = Math.max(1, Math.round(s.pruneEpochs * batches * RAMP_SHARE));
        const r = await prunePolynomial({
          model,
          data: trainingView(d),
          epochs: s.pruneEpochs,
          batchSize: s.batchSize,
          optimizer: { name: 'adam', learningRate: s.learningRate, momentum: 0 },
          seed: deriveSeed(this.ctx.seed, `${key} prune`),
          schedule: polynomialDecay({ final: sparsity, endStep, frequency: Math.max(1, Math.round(endStep / MASK_UPDATES)) }),
          scope: 'layer',
          throwIfCancelled: this.ctx.throwIfCancelled,
          onBatch: (p) => p.batch === p.batches || p.batch % 50 === 0 ? this.progress('finalists', `Pruning ${a.id} to ${Math.round(sparsity * 100)} % sparsity, epoch ${p.epoch + 1}/${s.pruneEpochs}`, ((p.epoch + p.batch / p.batches) / s.pruneEpochs) * s.pruneEpochs) : undefined,
        });
        out = r.model;
        this.unitsDone += s.pruneEpochs;
        this.state.work.trainedEpochs += s.pruneEpochs;
      }
      const recipe = {
        template: a.arch.template,
        width: a.arch.width,
        resolution: a.arch.resolution,
        distill: { epochs: a.epochs, temperature: s.temperature, alpha: s.alpha, learningRate: s.learningRate, batchSize: s.batchSize, ...(s.firstRungImages ? { firstRungImages: s.firstRungImages } : {}) },
        prune: sparsity > 0 ? { method: 'magnitude', schedule: 'polynomial', targetSparsity: sparsity, fineTuneEpochs: s.pruneEpochs } : null,
      };
      const saved = await storeModelArtifact(this.ctx, out, { name: `search: ${key}`, parentId: this.teacher.ref.artifactId, metrics: { role: 'search-candidate', searchRecipe: recipe, template: a.arch.template, width: a.arch.width } });
      this.state.models[key] = saved.ref.artifactId;
      this.save();
      return saved.ref.artifactId;
    } finally {
      if (out !== model) out.dispose();
      model.dispose();
    }
  }

  private async candidate(a: ArchState, sparsity: number, p: SearchPrecision, model: tfl.LayersModel, modelId: number, id: string): Promise<SearchCandidate> {
    const base: SearchCandidate = { id, arch: a.arch, sparsity, precision: p, rung: a.rung, epochs: a.epochs, status: 'dropped', params: a.params, modelArtifactId: modelId };
    const { maxBytes, maxLatencyMs } = this.spec.budget;
    const lower = a.bytes[p];
    if (maxBytes !== undefined && lower !== undefined && lower > maxBytes) return { ...base, bytes: lower, droppedBecause: 'size', reason: `the file is ${lower} bytes, over the ${maxBytes}-byte budget (not trained further, not measured)` };
    const d = this.data(a.arch.resolution);
    let c = this.state.pending[id];
    if (!c) {
      this.progress('finalists', `Exporting ${id}`);
      let quant;
      let keptInFloat: string[] | undefined;
      if (p === 'int8-mixed') {
        // The most sensitive layer (largest accuracy drop when it alone is INT8) stays in float.
        const params = calibrateMinMax(model, calibrationSample(d.train, CALIBRATION_SAMPLES, this.ctx.seed)).params;
        const n = Math.min(SENSITIVITY_SAMPLES, d.val.n);
        const per = d.val.sampleShape.reduce((x, y) => x * y, 1);
        const sens = await layerSensitivity(model, params, { x: d.val.x.subarray(0, n * per), y: d.val.y.subarray(0, n), n, sampleShape: d.val.sampleShape }, { throwIfCancelled: this.ctx.throwIfCancelled });
        keptInFloat = sens.layers.slice(0, 1).map((l) => l.layer);
        quant = { ...params, floatLayers: keptInFloat };
      }
      const { artifact } = await exportModelArtifact(this.ctx.store, {
        artifactId: modelId,
        precision: exportPrecision(p),
        ...(quant ? { quant } : {}),
        calibrationSamples: CALIBRATION_SAMPLES,
        runId: this.ctx.runId,
        stageId: this.ctx.stageId,
        artifactsDir: this.ctx.paths.artifactsDir,
        dataset: d,
      });
      this.state.work.exports++;
      this.progress('finalists', `Validating ${id} in LiteRT`);
      const pred = await tflitePredictions(artifact.path, d.val, this.ctx.signal);
      const valAccuracy = agreement(pred, d.val.y);
      const fidelity = agreement(pred, this.state.reference!.valPredictions);
      this.ctx.store.artifacts.updateMetrics(artifact.id, { searchCandidate: id, valAccuracy, fidelity, ...(keptInFloat ? { keptInFloat } : {}) });
      c = { ...base, valAccuracy, fidelity, bytes: artifact.bytes, gzipBytes: artifact.gzipBytes ?? undefined, tfliteArtifactId: artifact.id, ...(keptInFloat ? { keptInFloat } : {}) };
      this.state.pending[id] = c;
      this.save();
    }
    if (maxBytes !== undefined && c.bytes! > maxBytes) return { ...c, droppedBecause: 'size', reason: `the file is ${c.bytes} bytes, over the ${maxBytes}-byte budget (not measured)` };
    const features = latencyFeatures(model, p, c.keptInFloat);
    const predicted = this.lm.predictUs(features);
    const tol = skipTolerance(relativeErrors(this.state.heldOut));
    if (maxLatencyMs !== undefined && predicted !== null && predicted * (1 - tol) > maxLatencyMs * 1000) {
      this.state.skipped++;
      return { ...c, predictedLatencyMs: predicted / 1000, measured: false, droppedBecause: 'latency-model', reason: `predicted ${ms(predicted)}; even ${Math.round(tol * 100)} % faster it would miss the ${maxLatencyMs} ms budget, so it was not measured` };
    }
    const artifact = this.ctx.store.artifacts.get(c.tfliteArtifactId!)!;
    const lat = await this.measure(artifact.path, artifact.id, id, features);
    if (lat.predictedUs !== null) this.state.heldOut.push({ predictedUs: lat.predictedUs, measuredUs: lat.bestUs });
    return {
      ...c,
      latencyMs: lat.latencyUs / 1000,
      bestLatencyMs: lat.bestUs / 1000,
      latencyCiMs: lat.ciUs ? [lat.ciUs[0] / 1000, lat.ciUs[1] / 1000] : null,
      ...(lat.predictedUs !== null ? { predictedLatencyMs: lat.predictedUs / 1000 } : {}),
      measured: true,
      cached: lat.cached,
      benchmarkId: lat.benchmarkId,
    };
  }

  /**
   * The speed-up the user is told, measured fairly: the teacher's FP32 file and the recommended one
   * benchmarked alternately at the end (fresh, not from the cache), so machine load hits both alike.
   */
  private async paired(teacherFile: string, teacherId: number, recFile: string, recId: number): Promise<NonNullable<State['paired']>> {
    const p = (this.state.paired ??= { teacherUs: [], recommendedUs: [], teacherBestUs: [], recommendedBestUs: [] });
    while (p.recommendedUs.length < PAIRED_ROUNDS) {
      const round = p.recommendedUs.length;
      const where = this.spec.target === 'host' ? 'this computer' : this.spec.target;
      for (const [who, file, id, into, best] of [['teacher FP32', teacherFile, teacherId, p.teacherUs, p.teacherBestUs], ['recommended', recFile, recId, p.recommendedUs, p.recommendedBestUs]] as const) {
        if (into.length > round) continue;
        this.progress('result', `Paired measurement ${round + 1}/${PAIRED_ROUNDS}: ${who} on ${where}`);
        const lat = await measureLatency(this.ctx, file, id, this.spec.target, this.spec.bench, undefined, true);
        this.state.work.benchmarks++;
        into.push(lat.latencyUs);
        best.push(lat.bestUs);
        this.save();
      }
    }
    return p;
  }

  private async finish(): Promise<StageResult> {
    const refState = this.state.reference!;
    const ref: Reference = { valAccuracy: refState.valAccuracy, latencyMs: refState.latencyUs / 1000, bytes: refState.bytes };
    const budget = this.spec.budget;
    const cands = this.state.candidates.map((c) => ({ ...c }));
    const rec = chooseRecommended(cands, ref, budget);
    for (const c of cands) {
      if (!c.measured || c.droppedBecause) continue;
      const misses = budgetMisses(c, ref, budget);
      if (!misses.length) c.status = c.id === rec?.id ? 'recommended' : 'meets-budget';
      else {
        c.status = 'dropped';
        c.droppedBecause = /^accuracy/.test(misses[0]) ? 'accuracy' : /disagrees/.test(misses[0]) ? 'fidelity' : /^latency/.test(misses[0]) ? 'latency' : 'size';
        c.reason = `misses the budget: ${misses.join('; ')}`;
      }
    }
    // Architectures that never became finalists are listed as candidates too, with why they stopped.
    const archRows: SearchCandidate[] = (this.state.archs ?? [])
      .filter((a) => a.status === 'dropped')
      .map((a) => ({
        id: a.id,
        arch: a.arch,
        sparsity: null,
        precision: null,
        rung: a.rung,
        epochs: a.epochs,
        status: 'dropped',
        droppedBecause: a.droppedBecause,
        reason: a.reason,
        params: a.params,
        ...(a.valAccuracy !== undefined ? { valAccuracy: a.valAccuracy } : {}),
        ...(a.predictedUs !== undefined && Number.isFinite(a.predictedUs) ? { predictedLatencyMs: a.predictedUs / 1000 } : {}),
      }));

    // Test split: once, at the end, for the reference and the recommendation (the choice is made).
    const teacherTest = refState.testAccuracy ?? agreement(await tflitePredictions(refState.path, splitFor(this.ds.test, modelView(this.teacher.meta, this.ds)), this.ctx.signal), this.ds.test.y);
    refState.testAccuracy = teacherTest;
    let recommended: SearchResult['recommended'] = null;
    if (rec) {
      const tflite = this.ctx.store.artifacts.get(rec.tfliteArtifactId!)!;
      this.progress('result', `Measuring ${rec.id} on the test split (once)`);
      const testAccuracy = this.state.recommendedTest ?? agreement(await tflitePredictions(tflite.path, this.data(rec.arch.resolution).test, this.ctx.signal), this.data(rec.arch.resolution).test.y);
      this.state.recommendedTest = testAccuracy;
      this.ctx.store.artifacts.updateMetrics(tflite.id, { deployedAccuracy: testAccuracy, deployedAccuracySamples: this.ds.test.n, deployedAccuracyRuntime: 'LiteRT (CPU, this computer)' });
      const paired = await this.paired(refState.path, refState.tfliteArtifactId, tflite.path, tflite.id);
      const avg = (xs: number[]) => xs.reduce((x, y) => x + y, 0) / xs.length;
      recommended = {
        id: rec.id,
        testAccuracy,
        testDrop: (teacherTest - testAccuracy) * 100,
        valDrop: (ref.valAccuracy - rec.valAccuracy!) * 100,
        fidelity: rec.fidelity ?? null,
        latencyMs: rec.latencyMs!,
        latencyCiMs: rec.latencyCiMs ?? null,
        bytes: rec.bytes!,
        margins: margins(rec, ref, budget),
        speedup: avg(paired.teacherUs) / avg(paired.recommendedUs),
        speedupQuietest: avg(paired.teacherBestUs) / avg(paired.recommendedBestUs),
        paired: {
          teacherMs: paired.teacherUs.map((v) => v / 1000),
          recommendedMs: paired.recommendedUs.map((v) => v / 1000),
          teacherQuietestMs: paired.teacherBestUs.map((v) => v / 1000),
          recommendedQuietestMs: paired.recommendedBestUs.map((v) => v / 1000),
        },
        sizeRatio: ref.bytes / rec.bytes!,
        tfliteArtifactId: rec.tfliteArtifactId!,
        modelArtifactId: rec.modelArtifactId!,
      };
    }
    const closest = rec ? null : closestMiss(cands, ref, budget);
    const heldOut = relativeErrors(this.state.heldOut);
    const verdict = recommended
      ? `Recommended ${recommended.id}: ${recommended.speedup.toFixed(1)}× faster (paired measurement at the end; ${recommended.speedupQuietest.toFixed(1)}× by the quietest trials) and ${recommended.sizeRatio.toFixed(1)}× smaller than the teacher's FP32 .tflite on ${this.spec.target === 'host' ? 'this computer' : this.spec.target}; test accuracy ${(recommended.testAccuracy * 100).toFixed(2)} % (teacher ${(teacherTest * 100).toFixed(2)} %, ${recommended.testDrop.toFixed(2)} points lower; chosen on validation, ${recommended.valDrop.toFixed(2)} points lower there).${budget.maxAccuracyDrop !== undefined && recommended.testDrop > budget.maxAccuracyDrop ? ` On the test split it is outside the ${budget.maxAccuracyDrop}-point budget it met on validation.` : ''}`
      : `No candidate meets the budget.${closest ? ` Closest: ${closest.id} (${closest.misses.join('; ')}).` : ' No candidate finished.'}`;
    this.ctx.log(recommended ? 'info' : 'warn', verdict);
    const result: SearchResult = {
      target: this.spec.target,
      budget,
      teacher: { artifactId: this.teacher.ref.artifactId, tfliteArtifactId: refState.tfliteArtifactId, valAccuracy: refState.valAccuracy, testAccuracy: teacherTest, latencyMs: ref.latencyMs, latencyCiMs: refState.ciUs ? [refState.ciUs[0] / 1000, refState.ciUs[1] / 1000] : null, bytes: refState.bytes },
      candidates: [...cands, ...archRows],
      frontier: frontiers(cands),
      recommended,
      closest,
      verdict,
      latencyModel: { features: [...LATENCY_FEATURES], coefficients: this.lm.coefficients, measurements: this.lm.measurements, heldOut, skipped: this.state.skipped },
      elapsedMs: this.elapsedBefore + (Date.now() - this.started),
      work: this.state.work,
    };
    this.ctx.progress({ phase: 'done', fraction: 1, message: verdict });
    const metrics: Record<string, unknown> = { search: result, note: verdict };
    if (recommended) Object.assign(metrics, { accuracy: recommended.testAccuracy, deployedAccuracy: recommended.testAccuracy, bytes: recommended.bytes, latencyMs: recommended.latencyMs, chosen: recommended.id });
    const outputs: StageResult['outputs'] = {};
    if (recommended) {
      const m = this.ctx.store.artifacts.get(recommended.modelArtifactId)!;
      const t = this.ctx.store.artifacts.get(recommended.tfliteArtifactId)!;
      outputs.current = { artifactId: m.id, path: m.path, format: 'tfjs-layers' };
      outputs.tflite = { artifactId: t.id, path: t.path, format: 'tflite' };
    }
    return { metrics, outputs };
  }
}

/** Rounds of the paired end-of-search measurement (teacher, recommended) × PAIRED_ROUNDS. */
const PAIRED_ROUNDS = 2;

/** Teacher logits by training-sample index; `map` turns a subset's indices into the full split's. */
function tableSource(table: Float32Array, classes: number, map: Int32Array | null): TeacherSource {
  const n = table.length / classes;
  return {
    logits: (_xs, indices) =>
      tf.tidy(() => tf.gather(tf.tensor2d(table, [n, classes]), tf.tensor1d(map ? Int32Array.from(indices, (i) => map[i]) : indices, 'int32'))) as tf.Tensor2D,
  };
}

function resizeCal(cal: { x: Float32Array; n: number; sampleShape: number[] }, side: number): { x: Float32Array; sampleShape: number[] } {
  const [h, w, c] = cal.sampleShape;
  if (h === side && w === side) return cal;
  const out = tf.tidy(() => tf.image.resizeBilinear(tf.tensor4d(cal.x, [cal.n, h, w, c]), [side, side], false, true));
  const x = out.dataSync() as Float32Array;
  out.dispose();
  return { x, sampleShape: [side, side, c] };
}

export async function runSearch(ctx: Ctx): Promise<StageResult> {
  return new SearchRun(ctx).run();
}
