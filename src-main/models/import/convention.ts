/**
 * Which pixel values an imported image model expects, decided from evidence, stated with the
 * reason, and overridable by the caller:
 * 1. the caller's choice (`signed` x/127.5 − 1, `unit` x/255, `raw` 0–255);
 * 2. a leading Rescaling layer (folded out of the graph: its scale/offset become the convention);
 * 3. Teachable Machine metadata (its image models are MobileNetV2 fed x/127.5 − 1);
 * 4. Keras application layer names: MobileNet v1/v2 (`conv_dw_1`, `Conv1` + `block_N_*`,
 *    `expanded_conv_*`), whose `preprocess_input` maps pixels to [-1, 1];
 * 5. otherwise [0, 1] (PocketBench's own convention), flagged as a guess.
 */
import {
  type ImageInputConvention,
  type InputConvention,
  SIGNED_UNIT_NORMALIZATION,
  UNIT_RANGE_NORMALIZATION,
} from '../../../src-shared/model-io';

export type NormalizationChoice = 'signed' | 'unit' | 'raw';

export const NORMALIZATIONS: Record<NormalizationChoice, { mean: number[]; std: number[]; text: string }> = {
  signed: { ...SIGNED_UNIT_NORMALIZATION, mean: [...SIGNED_UNIT_NORMALIZATION.mean], std: [...SIGNED_UNIT_NORMALIZATION.std], text: 'x / 127.5 − 1 (pixels in [-1, 1])' },
  unit: { mean: [...UNIT_RANGE_NORMALIZATION.mean], std: [...UNIT_RANGE_NORMALIZATION.std], text: 'x / 255 (pixels in [0, 1])' },
  raw: { mean: [0], std: [1], text: 'raw pixel values 0–255' },
};

export interface ConventionDecision {
  input: InputConvention;
  /** Which rule decided (caller, rescaling-layer, teachable-machine, keras-application, default, features). */
  source: 'caller' | 'rescaling-layer' | 'teachable-machine' | 'keras-application' | 'default' | 'features';
  /** For people: what was decided and why. */
  reason: string;
  /** True when nothing in the file said it: the user should check. */
  guessed: boolean;
}

export interface ConventionEvidence {
  /** Model input shape without the batch dimension. */
  inputShape: (number | null)[];
  override?: NormalizationChoice;
  rescaling?: { layer: string; scale: number; offset: number } | null;
  teachableMachine?: string | null;
  layerNames: string[];
}

/** Recognise Keras MobileNet v1/v2 feature extractors by their layer names. */
export function kerasApplication(layerNames: string[]): string | null {
  const names = new Set(layerNames);
  if (names.has('Conv1') && layerNames.some((n) => /^(expanded_conv_(depthwise|project)|block_\d+_(expand|depthwise|project))$/.test(n))) return 'MobileNetV2';
  if (names.has('conv1') && names.has('conv_dw_1') && names.has('conv_pw_1')) return 'MobileNet';
  return null;
}

function fmt(n: number): string {
  return String(Math.round(n * 1e6) / 1e6);
}

export function decideConvention(e: ConventionEvidence): ConventionDecision {
  if (e.inputShape.length === 1) {
    return {
      input: { kind: 'features', features: Number(e.inputShape[0]) },
      source: 'features',
      reason: `The model takes ${e.inputShape[0]} features per sample (a table, not images); features are standardised with the dataset.`,
      guessed: false,
    };
  }
  const [h, w, c] = e.inputShape;
  const image = (normalization: { mean: number[]; std: number[] }): ImageInputConvention => ({
    kind: 'image',
    size: [Number(h), Number(w)],
    channels: c === 1 ? 1 : 3,
    normalization: { mean: [...normalization.mean], std: [...normalization.std] },
    dtype: 'float32',
  });
  if (e.override) {
    return { input: image(NORMALIZATIONS[e.override]), source: 'caller', reason: `Input ${NORMALIZATIONS[e.override].text}, as chosen at import.`, guessed: false };
  }
  if (e.rescaling) {
    const { scale, offset, layer } = e.rescaling;
    // Model input = raw·scale + offset = (raw − mean)/std with std = 1/scale, mean = −offset/scale.
    const n = { mean: [-offset / scale], std: [1 / scale] };
    return {
      input: image(n),
      source: 'rescaling-layer',
      reason: `The model starts with a Rescaling layer "${layer}" (x · ${fmt(scale)} + ${fmt(offset)}), so it takes raw pixels 0–255; that layer became the input normalization (mean ${fmt(n.mean[0])}, std ${fmt(n.std[0])}) and the data loader applies it.`,
      guessed: false,
    };
  }
  if (e.teachableMachine) {
    return { input: image(NORMALIZATIONS.signed), source: 'teachable-machine', reason: `Teachable Machine model (${e.teachableMachine}): its image models take x / 127.5 − 1 (pixels in [-1, 1]).`, guessed: false };
  }
  const app = kerasApplication(e.layerNames);
  if (app) {
    return {
      input: image(NORMALIZATIONS.signed),
      source: 'keras-application',
      reason: `The layers are those of Keras' ${app}, whose preprocess_input scales pixels to [-1, 1] (x / 127.5 − 1). If the model was trained on other values, import it again with another normalization.`,
      guessed: false,
    };
  }
  return {
    input: image(NORMALIZATIONS.unit),
    source: 'default',
    reason: 'Nothing in the file says which pixel values the model expects; assumed x / 255 (pixels in [0, 1]). If it was trained on [-1, 1] or on raw 0–255 values, import it again choosing that normalization, or its accuracy will be wrong.',
    guessed: true,
  };
}
