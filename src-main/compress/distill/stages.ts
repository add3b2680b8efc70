/**
 * The distill stage. For each seed it trains, from the same initial student weights and with the
 * same budget (epochs, optimizer, schedule): a control on labels alone, and every candidate of the
 * sweep (temperatures × alphas, or a feature/self-distillation variant), all through the shared
 * training loop (`fit`). The candidate with the best mean validation accuracy is chosen; it is the
 * output only if it beats the control on validation, otherwise the control is, and the stage says so.
 *
 * Disk: every candidate's metrics are kept; weights only for the chosen candidate and the control
 * (first seed). Checkpoints: `fit` writes one per epoch for the unit in flight; finished units are
 * recorded in `sweep.json`, so a resumed stage skips them and continues the interrupted one.
 */
import fs from 'node:fs';
import path from 'node:path';
import type * as tfl from '@tensorflow/tfjs-layers';
import type { DistillSummary } from '../../../src-shared/distill-result';
import { AppError } from '../../../src-shared/errors';
import type { StageSpec, TemplateName } from '../../../src-shared/recipe';
import { type LoadedDataset, trainingView, withLabeledCount } from '../../data';
import { deriveSeed } from '../../data/rng';
import { buildTemplate, loadModel, saveModel, suggestWidths, summarizeModel, type TemplateSpec } from '../../models';
import type { StageContext, StageRegistry } from '../../pipeline/stage';
import { initBackend } from '../../tf';
import { evaluate, fit, predictAll } from '../train';
import { modelView, splitFor, topOneAgreement } from '../train/model-view';
import { storeModelArtifact } from '../train/artifacts';
import { estimateInferencePerSample, logPlan } from '../train/memory';
import { loadRunDataset } from '../train/run-data';
import { capacityCheck } from '../train/capacity';
import { auxHeadsObjective, cachedTeacher, controlObjective, featureObjective, kdObjective, liveTeacher, type Objective, progressiveObjective, type TeacherSource } from './objectives';
import { leanTeacher } from './frozen-teacher';
import { loadTeacher, teacherTemplate } from './stage-io';
import { type CandidatePlan, type CandidateResults, planCandidates, type SeedResult, summarize, verdict } from './sweep';

type DistillSpec = Extract<StageSpec, { kind: 'distill' }>;
type Ctx = StageContext<DistillSpec>;

/** What survives a crash: finished units' results and where the kept weights are. */
interface SweepState {
  version: 1;
  /** candidate name -> one result per finished seed, in seed order. */
  results: Record<string, SeedResult[]>;
  /** Folder (in the checkpoint dir) of the control's first-seed weights. */
  control?: string;
  /** The best distilled candidate so far (by mean validation accuracy) and its first-seed weights. */
  best?: { name: string; valAccuracy: number; dir: string };
  /** First-seed weights of the candidate in progress, until all its seeds are done. */
  pending?: { name: string; dir: string };
}

function readState(file: string): SweepState {
  if (!fs.existsSync(file)) return { version: 1, results: {} };
  return JSON.parse(fs.readFileSync(file, 'utf8')) as SweepState;
}
function writeState(file: string, s: SweepState): void {
  fs.writeFileSync(file + '.tmp', JSON.stringify(s));
  fs.renameSync(file + '.tmp', file);
}

const slug = (s: string) => s.replace(/[^a-zA-Z0-9.=-]+/g, '_');
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

export async function runDistill(ctx: Ctx): Promise<{ metrics: Record<string, unknown>; curves: Record<string, number[]>; outputs: { current: import('../../pipeline/stage').ModelRef } }> {
  await initBackend();
  const ds = await loadRunDataset(ctx);
  // Unlabelled images: the teacher's soft targets alone (alpha 1), no labels-only control; every
  // figure measured on the held-out targets is the fidelity to the teacher, and is named so.
  const byTeacher = ds.info.targets === 'teacher';
  const spec: DistillSpec = byTeacher ? { ...ctx.stage, alphas: [1], control: false } : ctx.stage;
  if (byTeacher && ctx.stage.self) throw new AppError('INVALID_ARGS', 'The images have no labels, so self-distillation has nothing to learn from: distill from a teacher instead.');
  if (byTeacher && (ctx.stage.control || ctx.stage.alphas.some((a) => a !== 1))) ctx.log('info', 'The images have no labels: distilling on the teacher\'s soft targets alone (alpha 1), without a labels-only control.');
  const numClasses = ds.info.classes.length;
  const view = trainingView(ds);
  // Few labels for the student only (the teacher stage saw them all); the seed is the run's, so every candidate hides the same labels.
  const data =
    spec.labeledCount !== undefined && spec.labeledCount < view.train.n
      ? { ...view, train: withLabeledCount(view.train, numClasses, spec.labeledCount, deriveSeed(ctx.seed, 'distill-labeled')) }
      : view;
  const inputShape = ds.info.inputShape;
  const seeds = spec.seeds?.length ? spec.seeds : [ctx.seed];
  const needsTeacher = !spec.self;

  const teacher = needsTeacher ? await loadTeacher(ctx) : null;
  // The teacher sees the images at its own size and normalization (an imported 224-px model), the student at the dataset's.
  const teacherView = teacher ? modelView(teacher.meta, ds) : null;
  if (teacherView && spec.features && (teacherView.size[0] !== inputShape[0] || teacherView.size[1] !== inputShape[1])) {
    throw new AppError('INVALID_ARGS', `Feature distillation pairs layers of the same spatial size, but the teacher takes ${teacherView.size.join(' × ')} images and the student ${inputShape[0]} × ${inputShape[1]}. Use response distillation, or give the student the teacher's size.`);
  }
  // The teacher's test predictions, for the student's fidelity (top-1 agreement) next to its accuracy.
  const teacherTest = teacher ? predictAll(teacher.model, splitFor(ds.test, teacherView)) : null;
  const template = (spec.student.template ?? teacherTemplate(ctx.recipe, ctx)) as TemplateName | undefined;
  if (!template) throw new AppError('INVALID_ARGS', 'Pick the student\'s architecture (student.template): the teacher was loaded from a file, so its template is not known.');
  const studentSpec = (seed: number): TemplateSpec => ({ ...(spec.student.options ?? {}), template, inputShape, numClasses, width: spec.student.width, seed }) as TemplateSpec;

  // The shared capacity rule (compress/train/capacity.ts): findings go to the run log, with widths to try.
  const capacity: Record<string, unknown> = {};
  if (teacher) {
    const t = summarizeModel(teacher.model, { nonZero: false });
    const probe = buildTemplate(studentSpec(seeds[0]));
    const check = capacityCheck(summarizeModel(probe, { nonZero: false }), t, numClasses);
    probe.dispose();
    Object.assign(capacity, { level: check.level, paramsRatio: check.comparison.paramsRatio, macsRatio: check.comparison.macsRatio, teacherParams: check.comparison.teacher.params });
    if (check.level !== 'ok') {
      const widths = suggestWidths({ ...(spec.student.options ?? {}), template, inputShape, numClasses } as Omit<TemplateSpec, 'width'>, t);
      const advice = `${check.findings.map((f) => f.message).join(' ')} Widths that give 1/4, 1/8 and 1/16 of the teacher's parameters: ${widths.map((w) => w.width).join(', ')}.`;
      capacity.warning = advice;
      ctx.log('warn', advice);
    }
  }

  const stateFile = path.join(ctx.checkpointDir, 'sweep.json');
  const state = ctx.resuming ? readState(stateFile) : { version: 1 as const, results: {} };
  if (!ctx.resuming) {
    // A fresh start must not pick up leftovers of an earlier attempt.
    for (const f of fs.readdirSync(ctx.checkpointDir)) fs.rmSync(path.join(ctx.checkpointDir, f), { recursive: true, force: true });
  }

  const plan = planCandidates(spec);
  const units = plan.length * seeds.length;
  let teacherSource: TeacherSource | null = null;
  // The teacher's logits come from an inference copy with BatchNorm folded and ReLUs merged
  // (frozen-teacher.ts); feature pairs still read the original's layers by name.
  const lean = teacher ? await leanTeacher(teacher.model) : null;
  if (teacher && lean) {
    ctx.log('info', `Teacher prepared for inference: ${lean.folded.length} BatchNorm layers folded into their convolutions, ${lean.merged.length} ReLU layers merged (${teacher.model.layers.length} → ${lean.model.layers.length} layers).`);
    const teacherTrain = splitFor(data.train, teacherView);
    teacherSource = spec.cacheTeacher ? cachedTeacher(lean.model, teacherTrain) : liveTeacher(lean.model, teacherView ? teacherTrain : undefined);
  }

  const curves: Record<string, number[]> = {};
  try {
    for (const [ci, cand] of plan.entries()) {
      const done = (state.results[cand.name] ??= []);
      for (const [si, seed] of seeds.entries()) {
        if (si < done.length) continue;
        ctx.throwIfCancelled();
        const unit = ci * seeds.length + si;
        const result = await trainUnit(ctx, { cand, seed, unit, units, seeds, studentSpec: studentSpec(seed), data, ds, teacher: teacher?.model ?? null, teacherSource, state, stateFile, si });
        done.push(result);
        writeState(stateFile, state);
      }
      settleCandidate(state, cand, stateFile);
      const first = state.results[cand.name][0];
      curves[`${cand.name}: val accuracy`] = first.valCurve;
      if (first.lossCurve?.length) curves[`${cand.name}: loss`] = first.lossCurve;
    }
  } finally {
    // The cached teacher logits are plain arrays; the teacher models hold tensors.
    teacher?.model.dispose();
    lean?.model.dispose();
  }

  const results: CandidateResults[] = plan.map((p) => ({ plan: p, perSeed: state.results[p.name] }));
  const summary: DistillSummary = summarize(results, seeds);
  const note = verdict(summary);
  ctx.log(summary.distillationHelped ? 'info' : 'warn', note);

  // Record the chosen model and the control as artifacts; hand on the one that won on validation.
  const chosenDir = state.best?.dir;
  if (!chosenDir) throw new AppError('INTERNAL', 'The sweep finished but no candidate weights were kept; resume the run to train again.');
  const parentId = ctx.slots.teacher?.artifactId;
  const chosenPlan = plan.find((p) => p.name === summary.chosen) as CandidatePlan;
  const saveOne = async (dir: string, name: string, extra: Record<string, unknown>) => {
    const { model } = await loadModel(dir);
    try {
      const test = evaluate(model, ds.test, { numClasses });
      const fidelity = teacherTest ? topOneAgreement(predictAll(model, ds.test), teacherTest, numClasses) : undefined;
      const quality = byTeacher ? { fidelity, targets: 'teacher' } : { accuracy: test.accuracy, topK: test.topK, ece: test.ece, ...(fidelity !== undefined ? { fidelity } : {}) };
      const metrics: Record<string, unknown> = { ...quality, template, width: spec.student.width, ...extra };
      const saved = await storeModelArtifact(ctx, model, { name, parentId, metrics });
      return { ref: saved.ref, sizes: saved.size, test, fidelity };
    } finally {
      model.dispose();
    }
  };
  const distilled = await saveOne(chosenDir, `student (${summary.chosen})`, { role: 'distilled', candidate: summary.chosen, ...('temperature' in chosenPlan ? { temperature: chosenPlan.temperature, alpha: chosenPlan.alpha } : {}) });
  const control = state.control ? await saveOne(state.control, 'student (control, labels only)', { role: 'control' }) : null;
  const out = summary.output === 'control' && control ? control : distilled;
  // Kept weights now live in the artifacts folder.
  for (const d of [state.best?.dir, state.control]) if (d) fs.rmSync(d, { recursive: true, force: true });

  return {
    metrics: {
      // Without labels the held-out targets are the teacher's: the figure is fidelity, never called accuracy.
      ...(byTeacher
        ? { fidelity: out.fidelity, targets: 'teacher', fidelityImages: ds.test.n }
        : { accuracy: out.test.accuracy, topK: out.test.topK, ece: out.test.ece, perClass: out.test.perClass, confusion: out.test.confusion, ...(out.fidelity !== undefined ? { fidelity: out.fidelity } : {}) }),
      classes: ds.info.classes,
      params: out.sizes.params,
      nonzeroParams: out.sizes.params,
      bytes: out.sizes.bytes,
      gzipBytes: out.sizes.gzipBytes,
      macs: out.sizes.macs,
      output: summary.output,
      chosen: summary.chosen,
      ...(byTeacher ? {} : { distilledAccuracy: distilled.test.accuracy }),
      ...(control ? { controlAccuracy: control.test.accuracy, gain: summary.gain, gainSpread: summary.gainSpread } : {}),
      seeds,
      trainImages: data.train.n,
      labeledImages: data.train.labeledMask ? data.train.labeledMask.reduce((a, b) => a + b, 0) : data.train.n,
      sweep: summary.sweep,
      distill: summary,
      capacity,
      note,
    },
    curves,
    outputs: { current: out.ref },
  };
}

interface UnitArgs {
  cand: CandidatePlan;
  seed: number;
  si: number;
  unit: number;
  units: number;
  seeds: number[];
  studentSpec: TemplateSpec;
  data: ReturnType<typeof trainingView>;
  ds: LoadedDataset;
  teacher: tfl.LayersModel | null;
  teacherSource: TeacherSource | null;
  state: SweepState;
  stateFile: string;
}

/** One candidate on one seed: build the student (same seed -> same start), fit, measure, keep weights if needed. */
async function trainUnit(ctx: Ctx, a: UnitArgs): Promise<SeedResult> {
  const spec = ctx.stage;
  const student = buildTemplate(a.studentSpec);
  const objective = buildObjective(spec, a, student);
  const unitDir = path.join(ctx.checkpointDir, 'units', `${a.unit}-${slug(a.cand.name)}-s${a.seed}`);
  const phase = a.seeds.length > 1 ? `${a.cand.name} · seed ${a.seed}` : a.cand.name;
  const started = Date.now();
  let lastBatchEvent = 0;
  try {
    const usesUnlabeled = a.cand.kind === 'kd' || a.cand.kind === 'features';
    const res = await fit({
      model: student,
      data: a.data,
      epochs: spec.epochs,
      batchSize: spec.batchSize,
      optimizer: spec.optimizer.name,
      lr: spec.optimizer.learningRate,
      momentum: spec.optimizer.name === 'sgd' ? spec.optimizer.momentum : 0,
      schedule: spec.lrSchedule,
      earlyStopping: spec.earlyStopping,
      seed: a.seed,
      signal: ctx.signal,
      throwIfCancelled: ctx.throwIfCancelled,
      lossFn: objective.loss,
      extraVariables: objective.extraVariables,
      samples: usesUnlabeled ? 'all' : 'labeled',
      checkpoint: { dir: unitDir, resume: true },
      // A live teacher runs its forward pass inside every step (off the tape: objectives.ts).
      extraPerSampleBytes: a.teacher && a.teacherSource && !('table' in a.teacherSource) ? estimateInferencePerSample(a.teacher) : 0,
      onMemoryPlan: (plan) => logPlan(ctx, plan),
      onBatch: (p) => {
        // At most one batch event per 250 ms (and always the epoch's last batch): steps can be a few ms.
        const now = Date.now();
        if (p.batch < p.batches && now - lastBatchEvent < 250) return;
        lastBatchEvent = now;
        const spent = Date.now() - started;
        const perUnit = p.fraction > 0 ? spent / p.fraction : 0;
        ctx.progress({ phase, epoch: p.epoch, epochs: p.epochs, batch: p.batch, batches: p.batches, fraction: (a.unit + p.fraction) / a.units, etaMs: Math.round(p.etaMs + (a.units - a.unit - 1) * perUnit), metrics: { loss: p.loss } });
      },
      onEpoch: (p) => ctx.progress({ phase, epoch: p.epoch, epochs: p.epochs, fraction: (a.unit + p.fraction) / a.units, metrics: p.metrics }),
    });
    // Reported, never used to choose: the choice reads valAccuracy only.
    const test = evaluate(student, a.ds.test, { numClasses: a.ds.info.classes.length });
    const result: SeedResult = { valAccuracy: res.val?.accuracy ?? NaN, testAccuracy: test.accuracy, valCurve: res.curves.val_accuracy ?? [], lossCurve: res.curves.loss ?? [], epochs: res.epochsRun };
    if (a.si === 0) {
      // First-seed weights wait in the checkpoint folder until the candidate is settled.
      const kept = await saveModel(student, path.join(ctx.checkpointDir, 'kept'));
      if (a.cand.kind === 'control') a.state.control = kept.path;
      else a.state.pending = { name: a.cand.name, dir: kept.path };
    }
    fs.rmSync(unitDir, { recursive: true, force: true });
    return result;
  } finally {
    objective.dispose();
    student.dispose();
  }
}

/** After all seeds of a candidate: keep its weights if it is the best so far, else delete them. */
function settleCandidate(state: SweepState, cand: CandidatePlan, stateFile: string): void {
  if (cand.kind === 'control' || !state.pending || state.pending.name !== cand.name) return;
  const val = mean(state.results[cand.name].map((r) => r.valAccuracy));
  if (!state.best || val > state.best.valAccuracy) {
    if (state.best && state.best.dir !== state.pending.dir) fs.rmSync(state.best.dir, { recursive: true, force: true });
    state.best = { name: cand.name, valAccuracy: val, dir: state.pending.dir };
  } else if (state.pending.dir !== state.best.dir && state.pending.dir !== state.control) {
    fs.rmSync(state.pending.dir, { recursive: true, force: true });
  }
  state.pending = undefined;
  writeState(stateFile, state);
}

function buildObjective(spec: DistillSpec, a: UnitArgs, student: tfl.LayersModel): Objective {
  const numClasses = a.ds.info.classes.length;
  switch (a.cand.kind) {
    case 'control':
      return controlObjective(student);
    case 'kd':
      return kdObjective(student, a.teacherSource as TeacherSource, a.cand.temperature, a.cand.alpha);
    case 'features':
      return featureObjective(student, a.teacher as tfl.LayersModel, a.teacherSource as TeacherSource, {
        ...(spec.features as NonNullable<DistillSpec['features']>),
        temperature: a.cand.temperature,
        alpha: a.cand.alpha,
        seed: a.seed,
        firstEpoch: 0,
      });
    case 'self-progressive':
      return progressiveObjective(student, { n: a.data.train.n, numClasses, epochs: spec.epochs, maxAlpha: spec.self?.maxAlpha ?? 0.8, firstEpoch: 0 });
    case 'self-aux':
      return auxHeadsObjective(student, { heads: spec.self?.heads ?? [], temperature: a.cand.temperature, alpha: a.cand.alpha, seed: a.seed, numClasses });
  }
}

export const stages: StageRegistry = { distill: runDistill };
