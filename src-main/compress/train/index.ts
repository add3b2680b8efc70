/**
 * Training: the seeded loop every compression stage builds on, plus evaluation.
 *
 *   createTrainStep(model, optimizer, lossFn?, extraVariables?) -> step(xs, ys, batch?) => loss
 *   fit(FitOptions) -> Promise<FitResult>          (see fit.ts)
 *   evaluate(model, split, opts?) -> ClassificationMetrics   (top-1, top-k, per class, confusion, ECE)
 *   learningRateAt(schedule, baseLr, epoch, epochs) -> lr
 */
export { fit, setWeightsFrom } from './fit';
export type { BatchProgress, EpochProgress, EpochRecord, FitOptions, FitResult } from './fit';
export { createOptimizer, createTrainStep, crossEntropyLoss, labelLoss, setLearningRate, trainableVariables } from './step';
export type { BatchInfo, LossFn, TrainStep } from './step';
export { epochOrder, evaluate, gatherBatch, predictAll, sampleSize } from './batches';
export { learningRateAt } from './schedule';
export type { LrSchedule } from './schedule';
export { hasCheckpoint } from './checkpoint';
export { classificationMetrics } from '../metrics';
export type { ClassificationMetrics, MetricOptions } from '../metrics';
export { modelBytes, storeModelArtifact } from './artifacts';
export type { StoredModel } from './artifacts';
export { datasetSource, loadRunDataset } from './run-data';
export { augmentImages } from './augment';
export { checkModelFitsDataset, evaluationMetrics } from './stages';
export { CAPACITY_RULE, capacityCheck, MIN_CONV_CHANNELS, SEVERE_RATIO, WARN_RATIO } from './capacity';
