/**
 * The one result every model reader produces (TF.js Layers incl. nested models and tfjs 1.x
 * exports, Keras 2 .h5, Keras 3 .keras, float .tflite), so the pipeline never knows where a
 * teacher came from. Readers live beside this file, one per format; `importModel(path)` in
 * `./index.ts` picks the reader by content (not only by extension).
 */
import type * as tfl from '@tensorflow/tfjs-layers';
import type { ModelMeta } from '../../../src-shared/model-io';

export interface ImportedModel {
  /**
   * One flat functional TF.js Layers model (nested Sequential/Functional flattened, same weights),
   * one input, one output, computing exactly what the original computes on its own input
   * convention (`meta.input`): probabilities when the original ends in a softmax.
   */
  model: tfl.LayersModel;
  meta: ModelMeta;
  /** Things the user should know that did not stop the import (e.g. labels not found: "class 0…"). */
  warnings: string[];
  /** What the reader decided and why (shown by the CLI and the import wizard). */
  details?: ImportDetails;
}

export interface ImportDetails {
  /** How the input normalization was chosen, in words, and whether it is a guess to check. */
  normalization: { source: string; reason: string; guessed: boolean };
  /** Where the labels came from (a file path, the model's metadata), or null when none were found. */
  labelsSource: string | null;
  /** Nested models expanded into the flat graph (0 when it was flat). */
  nestedModels: number;
}
