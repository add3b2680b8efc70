/**
 * Input shape and class count of the wizard's dataset, as the last preview found them, so the
 * teacher summary and capacity check can size templates without reading the dataset again.
 */
type DatasetLike = Record<string, unknown> & { kind: string };

const facts = $state<{ key: string; inputShape: number[] | null; numClasses: number | null }>({ key: '', inputShape: null, numClasses: null });

export const datasetKey = (d: DatasetLike): string => JSON.stringify([d.kind, d.path ?? '', d.labelColumn ?? '', d.imageSize ?? null, d.channels ?? null, d.unlabeled ?? false]);

export function rememberFacts(d: DatasetLike, inputShape: number[], numClasses: number): void {
  facts.key = datasetKey(d);
  facts.inputShape = inputShape;
  facts.numClasses = numClasses;
}

/** Known facts for this dataset: from its preview, or Fashion-MNIST's fixed shape. */
export function factsFor(d: DatasetLike): { inputShape: number[]; numClasses: number } | null {
  if (facts.key === datasetKey(d) && facts.inputShape && facts.numClasses) return { inputShape: facts.inputShape, numClasses: facts.numClasses };
  if (d.kind === 'fashion-mnist' && !d.path) return { inputShape: [28, 28, 1], numClasses: 10 };
  return null;
}

/** The model a teacher stage names, as the engine methods take it. */
export function teacherRef(stage: Record<string, unknown> & { kind: string }): Record<string, unknown> | null {
  if (stage.kind === 'train-teacher') {
    const m = (stage.model ?? { template: 'lenet', width: 1 }) as Record<string, unknown>;
    if (typeof m.path === 'string') return m.path ? { path: m.path } : null;
    return { template: m.template ?? 'lenet', width: Number(m.width ?? 1), ...(m.options ? { options: m.options } : {}) };
  }
  if (typeof stage.artifactId === 'number') return { artifactId: stage.artifactId };
  return typeof stage.path === 'string' && stage.path ? { path: stage.path } : null;
}
