/**
 * The layer types (and activations) the `.tflite` exporter supports. An imported model with
 * anything else is refused at import, naming each offending layer, rather than failing at export
 * after an hour of distillation.
 */
import { AppError } from '../../src-shared/errors';

export const SUPPORTED_LAYERS = [
  'InputLayer',
  'Dense',
  'Conv2D',
  'DepthwiseConv2D',
  'BatchNormalization',
  'ReLU',
  'Activation',
  'MaxPooling2D',
  'AveragePooling2D',
  'GlobalAveragePooling2D',
  'Flatten',
  'Reshape',
  'Add',
  'Concatenate',
  'ZeroPadding2D',
  'Dropout',
  'Multiply',
  // PocketBench's own (models/custom-layers.ts), for operators of imported .tflite files.
  'ScaleShift',
  'HardSwish',
] as const;

export const SUPPORTED_ACTIVATIONS = ['linear', 'relu', 'relu6', 'softmax', 'sigmoid'] as const;

export interface LayerProblem {
  layer: string;
  type: string;
  reason: string;
}

interface LayerJson {
  class_name?: string;
  config?: Record<string, unknown>;
}

/** The layer list of a Keras/TF.js topology: functional, Sequential, or wrapped in `model_config`. */
export function topologyLayers(topology: unknown): LayerJson[] | null {
  const t = topology as { model_config?: unknown; config?: unknown } | null;
  if (!t || typeof t !== 'object') return null;
  if (t.model_config) return topologyLayers(t.model_config);
  const config = t.config as { layers?: unknown } | unknown[] | undefined;
  if (Array.isArray(config)) return config as LayerJson[];
  if (config && typeof config === 'object' && Array.isArray((config as { layers?: unknown }).layers)) return (config as { layers: LayerJson[] }).layers;
  return null;
}

const supportedLayers = new Set<string>(SUPPORTED_LAYERS);
const supportedActivations = new Set<string>(SUPPORTED_ACTIVATIONS);

function activationName(a: unknown): string | undefined {
  if (a == null) return undefined;
  if (typeof a === 'string') return a;
  // Keras 3 serialises activations as objects.
  const obj = a as { class_name?: string; config?: { name?: string } };
  return obj.config?.name ?? obj.class_name;
}

export function findUnsupported(topology: unknown): LayerProblem[] {
  const layers = topologyLayers(topology) ?? [];
  const problems: LayerProblem[] = [];
  for (const l of layers) {
    const type = l.class_name ?? '(no type)';
    const cfg = l.config ?? {};
    const layer = String(cfg.name ?? '(unnamed)');
    if (!supportedLayers.has(type)) {
      const nested = ['Sequential', 'Model', 'Functional'].includes(type);
      problems.push({ layer, type, reason: nested ? 'a model nested as a layer' : 'layer type not supported' });
      continue;
    }
    const act = activationName(cfg.activation);
    if (act && !supportedActivations.has(act)) problems.push({ layer, type, reason: `activation "${act}" not supported` });
    if (type === 'ReLU') {
      const max = cfg.max_value ?? cfg.maxValue;
      if (max != null && max !== 6) problems.push({ layer, type, reason: `ReLU capped at ${max} (only uncapped or 6 are supported)` });
      if (Number(cfg.negative_slope ?? 0) !== 0 || Number(cfg.threshold ?? 0) !== 0) problems.push({ layer, type, reason: 'leaky or thresholded ReLU not supported' });
    }
  }
  return problems;
}

/** Throws `UNSUPPORTED` listing every offending layer and what is supported. */
export function assertSupported(topology: unknown, what: string): void {
  const problems = findUnsupported(topology);
  if (!problems.length) return;
  const list = problems.map((p) => `"${p.layer}" (${p.type}: ${p.reason})`).join('; ');
  throw new AppError(
    'UNSUPPORTED',
    `${what} uses layers PocketBench cannot export to TFLite: ${list}. Supported layers: ${SUPPORTED_LAYERS.join(', ')}; activations: ${SUPPORTED_ACTIVATIONS.join(', ')}.`,
    { problems, supportedLayers: [...SUPPORTED_LAYERS], supportedActivations: [...SUPPORTED_ACTIVATIONS] },
  );
}
