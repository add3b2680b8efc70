/** One entry point per operation, whatever the source kind. */
import type { Store } from '../store';
import { loadCsv, previewCsv } from './csv';
import { loadFashionMnist, previewFashionMnist } from './fashion-mnist';
import { type EnsureOptions, ensureFashionMnist } from './fashion-mnist-download';
import { loadImageFolder, previewImageFolder } from './image-folder';
import type { DatasetInfo, DatasetPreview, DatasetSource, LoadedDataset, LoadOptions } from './types';

export async function loadDataset(source: DatasetSource, opts: LoadOptions = {}): Promise<LoadedDataset> {
  switch (source.kind) {
    case 'fashion-mnist':
      return loadFashionMnist(source.dir, opts);
    case 'image-folder':
      return loadImageFolder(source, opts);
    case 'csv':
      return loadCsv(source, opts);
  }
}

/**
 * The source with its files on this computer: the built-in Fashion-MNIST is found (Debian package,
 * bundled copy, earlier download) or downloaded and verified on first use. Other kinds are the
 * user's own files and come back as they are.
 */
export async function resolveDatasetSource(source: DatasetSource, opts: EnsureOptions = {}): Promise<DatasetSource> {
  if (source.kind !== 'fashion-mnist') return source;
  return { kind: 'fashion-mnist', dir: await ensureFashionMnist(source.dir, opts) };
}

/** What the import wizard shows before anything is committed: classes, counts, shape, samples, warnings. */
export async function previewDataset(source: DatasetSource, samplesPerClass = 4): Promise<DatasetPreview> {
  switch (source.kind) {
    case 'fashion-mnist':
      return previewFashionMnist(source.dir, samplesPerClass);
    case 'image-folder':
      return previewImageFolder(source, samplesPerClass);
    case 'csv':
      return previewCsv(source);
  }
}

/** Record (or find, by kind and content hash) the dataset in the history; returns its id. */
export function recordDataset(store: Store, info: DatasetInfo): number {
  return store.datasets.upsert({
    name: info.name,
    kind: info.kind,
    source: info.source,
    contentHash: info.contentHash,
    classes: info.classes,
    counts: info.counts,
    inputShape: info.inputShape,
  });
}
