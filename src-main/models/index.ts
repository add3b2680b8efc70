/**
 * Models: architecture templates (MLP, LeNet-style CNN, MobileNet-style CNN, small ResNet; all
 * output logits, take a width multiplier and a seed), import/save of TF.js Layers models without
 * tfjs-node, per-layer summaries (params, non-zero params, MACs, bytes) and student/teacher
 * capacity numbers.
 *
 * Everything that builds or loads a model needs the compute backend first:
 *   await initBackend();                         // from src-main/tf
 *   const teacher = buildTemplate({ template: 'lenet', inputShape: [28, 28, 1], numClasses: 10, seed: 1 });
 *   const student = buildTemplate({ template: 'lenet', inputShape: [28, 28, 1], numClasses: 10, width: 0.25, seed: 1 });
 *   const saved = await saveModel(student, paths.artifactsDir);   // { path, contentHash, bytes }
 *   const { model } = await loadModel(saved.path);
 *   summarizeModel(model).totals                 // { params, nonZeroParams, macs, macsDeployed, bytes, sparsity }
 *
 * Layer names are fixed by the templates (conv1, pool1, dense1, logits; stem_conv, block1_dw,
 * stage2_block1_add ...), so feature distillation can pair layers by name across widths.
 */
export { buildTemplate, DEFAULT_MOBILENET_BLOCKS, TEMPLATES } from './templates';
export type { LenetSpec, MlpSpec, MobilenetSpec, ResnetSpec, TemplateBase, TemplateName, TemplateSpec } from './templates';
export { folderIOHandler, loadModel, META_KEY, MODEL_JSON, readModelArtifacts, saveModel, serializeModel, WEIGHTS_FILE } from './io';
export type { LoadedModel, SavedModel } from './io';
export { summarizeModel } from './summary';
export type { LayerSummary, ModelSummary } from './summary';
export { CANDIDATE_WIDTHS, compareCapacity, suggestWidths } from './capacity';
export type { CapacityComparison, WidthSuggestion } from './capacity';
export { assertSupported, findUnsupported, SUPPORTED_ACTIVATIONS, SUPPORTED_LAYERS } from './supported';
export type { LayerProblem } from './supported';
export { outputsProbabilities, toLogitsModel } from './logits';
export { CUSTOM_LAYER_CLASSES, HardSwish, ScaleShift } from './custom-layers';
