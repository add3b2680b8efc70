/** What each format reader hands to `importModel`, which turns it into an `ImportedModel`. */
import type { ModelMeta, ModelSourceFormat } from '../../../src-shared/model-io';
import type { BuiltModel } from './build';

export interface ReadModel {
  built: BuiltModel;
  format: ModelSourceFormat;
  /** The file that was read (model.json, .h5, .keras). */
  file: string;
  /** SHA-256 of the model's files as read. */
  contentHash: string;
  /** Class names found beside or inside the model, and where. */
  labels: { labels: string[]; source: string } | null;
  /** Set when the files say Teachable Machine wrote them: what says so. */
  teachableMachine: string | null;
  /** The meta PocketBench stored with a model it saved earlier. */
  storedMeta?: ModelMeta | null;
  /** Image side the metadata states (Teachable Machine's imageSize). */
  imageSize?: number | null;
  warnings: string[];
}
