/**
 * A model brought from outside (TF.js, Keras .h5/.keras) stored as an artifact of no run, with its
 * meta (labels, input convention) in model.json, so the wizard and later runs can pick it as a
 * teacher. Used by the `models.import` contract method and `pocketbench import`. Bad input is
 * refused by `importModel` before anything is written; a failure while recording removes the
 * saved folder (storeModelArtifact), so nothing is stored half-way.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { ModelImportResult } from '../../../src-shared/engine-types';
import type { AppPaths } from '../../host/paths';
import { importModel, type NormalizationChoice } from '../../models/import';
import type { Store } from '../../store';
import { initBackend } from '../../tf';
import { storeModelArtifact } from './artifacts';

export async function importModelArtifact(
  deps: { store: Store; paths: AppPaths },
  args: { path: string; name?: string; normalization?: NormalizationChoice },
): Promise<ModelImportResult> {
  await initBackend();
  const imported = await importModel(args.path, { normalization: args.normalization });
  try {
    const from = imported.meta.importedFrom!;
    const details = imported.details!;
    const stored = await storeModelArtifact(deps, imported.model, {
      name: args.name ?? `${path.basename(from.file === path.join(path.dirname(from.file), 'model.json') ? path.dirname(from.file) : from.file)} (imported)`,
      meta: imported.meta,
      metrics: {
        imported: true,
        sourcePath: from.file,
        sourceFormat: from.format,
        sourceHash: from.contentHash,
        sourceBytes: fs.statSync(from.file).size,
        labels: imported.meta.labels,
        // The input convention, so the wizard can size students and datasets for it without loading the model.
        input: imported.meta.input,
        normalization: details.normalization,
        warnings: imported.warnings,
      },
    });
    return {
      artifact: deps.store.artifacts.get(stored.ref.artifactId)!,
      file: from.file,
      format: from.format,
      meta: imported.meta,
      summary: stored.summary,
      warnings: imported.warnings,
      normalization: details.normalization,
      labelsSource: details.labelsSource,
      nestedModels: details.nestedModels,
    };
  } finally {
    imported.model.dispose();
  }
}
