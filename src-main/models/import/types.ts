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
}
