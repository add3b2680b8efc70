/**
 * CSV datasets: a header row, numeric feature columns and one label column. Parsed with csv-parse
 * (RFC 4180 quoting, BOM). Features are standardized with mean/std fitted on the training split
 * only, and those statistics travel with the dataset info so inference and export apply the same.
 */
import fs from 'node:fs';
import path from 'node:path';
import { parse } from 'csv-parse/sync';
import { AppError } from '../../src-shared/errors';
import { ContentHasher } from './hash';
import { splitUserDataset } from './user-splits';
import type { DatasetInfo, DatasetPreview, DatasetSource, LoadedDataset, LoadOptions, Split, Standardization } from './types';

type CsvSource = Extract<DatasetSource, { kind: 'csv' }>;

const NUMBER = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;
const FLOAT32_MAX = 3.4028234663852886e38;
const INTEGER = /^[+-]?\d+$/;

interface Row {
  record: string[];
  info: { lines: number };
}

export interface ParsedCsv {
  file: string;
  columns: string[];
  featureNames: string[];
  classes: string[];
  counts: number[];
  /** n × features, raw (not yet standardized). */
  x: Float32Array;
  y: Int32Array;
  contentHash: string;
}

function guessDelimiter(text: string): string {
  const firstLine = text.slice(0, text.indexOf('\n') === -1 ? undefined : text.indexOf('\n'));
  const counts = [',', ';', '\t'].map((d) => ({ d, n: firstLine.split(d).length - 1 }));
  counts.sort((a, b) => b.n - a.n);
  return counts[0].n > 0 ? counts[0].d : ',';
}

function readRows(file: string, delimiter?: string): { rows: Row[]; bytes: Buffer } {
  let bytes: Buffer;
  try {
    bytes = fs.readFileSync(file);
  } catch (err) {
    const code = (err as { code?: string }).code;
    throw new AppError(code === 'ENOENT' ? 'NOT_FOUND' : 'IO', `Cannot read the CSV file ${file} (${(err as Error).message}).`, { file });
  }
  const text = bytes.toString('utf8');
  try {
    const rows = parse(text, {
      bom: true,
      delimiter: delimiter ?? guessDelimiter(text),
      info: true,
      relax_column_count: true,
      skip_empty_lines: true,
      trim: true,
    }) as unknown as Row[];
    return { rows, bytes };
  } catch (err) {
    const e = err as { message?: string; lines?: number };
    throw new AppError('INVALID_DATA', `${file} is not a readable CSV file: ${e.message ?? String(err)}.`, { file, line: e.lines });
  }
}

function header(file: string, rows: Row[], source: CsvSource): { columns: string[]; labelIdx: number; featureIdx: number[] } {
  if (rows.length === 0) throw new AppError('INVALID_DATA', `${file} is empty.`, { file });
  const columns = rows[0].record;
  const seen = new Set<string>();
  for (const c of columns) {
    if (seen.has(c)) throw new AppError('INVALID_DATA', `${file}: the header names the column "${c}" twice; rename one of them.`, { file, column: c });
    seen.add(c);
  }
  const labelIdx = columns.indexOf(source.labelColumn);
  if (labelIdx === -1) {
    throw new AppError('INVALID_DATA', `${file} has no column named "${source.labelColumn}". Its columns are: ${columns.map((c) => `"${c}"`).join(', ')}. Choose one of them as the label column.`, {
      file,
      columns,
    });
  }
  const ignore = new Set(source.ignoreColumns ?? []);
  for (const c of ignore) {
    if (!seen.has(c)) throw new AppError('INVALID_ARGS', `The column "${c}" to ignore is not in ${file}. Its columns are: ${columns.map((x) => `"${x}"`).join(', ')}.`, { file, columns });
  }
  const featureIdx = columns.map((_, i) => i).filter((i) => i !== labelIdx && !ignore.has(columns[i]));
  if (featureIdx.length === 0) throw new AppError('INVALID_DATA', `${file} has no feature columns besides the label "${source.labelColumn}".`, { file, columns });
  return { columns, labelIdx, featureIdx };
}

function classOrder(labels: string[], given: string[] | undefined): string[] {
  if (given) return given;
  const distinct = [...new Set(labels)];
  if (distinct.every((l) => INTEGER.test(l))) return distinct.sort((a, b) => Number(a) - Number(b));
  return distinct.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

export function parseCsvDataset(source: CsvSource): ParsedCsv {
  const file = path.resolve(source.file);
  const { rows, bytes } = readRows(file, source.delimiter);
  const { columns, labelIdx, featureIdx } = header(file, rows, source);
  const data = rows.slice(1);
  if (data.length === 0) throw new AppError('INVALID_DATA', `${file} has a header but no data rows.`, { file });
  const nf = featureIdx.length;
  const x = new Float32Array(data.length * nf);
  const rawLabels: string[] = new Array(data.length);
  data.forEach(({ record, info }, r) => {
    const where = `${file}, line ${info.lines}`;
    if (record.length !== columns.length) {
      throw new AppError('INVALID_DATA', `${where}: the row has ${record.length} fields but the header has ${columns.length}. Fix the row (a missing or extra comma, or an unquoted comma inside a value).`, {
        file,
        line: info.lines,
      });
    }
    const label = record[labelIdx];
    if (label === '') throw new AppError('INVALID_DATA', `${where}: the label column "${columns[labelIdx]}" is empty.`, { file, line: info.lines, column: columns[labelIdx] });
    rawLabels[r] = label;
    for (let k = 0; k < nf; k++) {
      const v = record[featureIdx[k]];
      if (!NUMBER.test(v)) {
        const col = columns[featureIdx[k]];
        throw new AppError(
          'INVALID_DATA',
          `${where}, column "${col}": ${v === '' ? 'the value is missing' : `"${v.length > 40 ? `${v.slice(0, 40)}…` : v}" is not a number`}. Every column except the label must be numeric; fix the value, or ignore the column if it is not a feature.`,
          { file, line: info.lines, column: col, value: v },
        );
      }
      const n = Number(v);
      // Features are float32: a value past ±3.4e38 (1e999, 1e39) would be Infinity and turn training into NaN.
      if (Math.abs(n) > FLOAT32_MAX) {
        const col = columns[featureIdx[k]];
        throw new AppError('INVALID_DATA', `${where}, column "${col}": ${v} is out of range; features are 32-bit floats (at most ±3.4e38). Fix the value, or ignore the column if it is not a feature.`, {
          file,
          line: info.lines,
          column: col,
          value: v,
        });
      }
      x[r * nf + k] = n;
    }
  });
  const classes = classOrder(rawLabels, source.classes);
  const index = new Map(classes.map((c, i) => [c, i]));
  const y = new Int32Array(data.length);
  const counts = new Array<number>(classes.length).fill(0);
  rawLabels.forEach((l, r) => {
    const k = index.get(l);
    if (k === undefined) {
      throw new AppError('INVALID_DATA', `${file}, line ${data[r].info.lines}: the label "${l}" is not one of the classes given (${classes.join(', ')}).`, { file, line: data[r].info.lines });
    }
    y[r] = k;
    counts[k]++;
  });
  if (classes.length < 2) throw new AppError('INVALID_DATA', `${file}: every row has the label "${classes[0]}"; a classifier needs at least two classes.`, { file });
  const contentHash = new ContentHasher()
    .add('csv', bytes)
    .add('options', JSON.stringify({ label: source.labelColumn, ignore: [...(source.ignoreColumns ?? [])].sort(), classes }))
    .hex();
  return { file, columns, featureNames: featureIdx.map((i) => columns[i]), classes, counts, x, y, contentHash };
}

/** Per-feature mean and (population) std of a split; constant features get std 1 so they map to 0. */
export function fitStandardization(split: Split<'train'>): Standardization {
  const nf = split.sampleShape[0];
  const mean = new Float64Array(nf);
  const sq = new Float64Array(nf);
  for (let r = 0; r < split.n; r++) for (let k = 0; k < nf; k++) mean[k] += split.x[r * nf + k];
  for (let k = 0; k < nf; k++) mean[k] /= split.n;
  for (let r = 0; r < split.n; r++) {
    for (let k = 0; k < nf; k++) {
      const d = split.x[r * nf + k] - mean[k];
      sq[k] += d * d;
    }
  }
  const std = Array.from(sq, (s) => {
    const v = Math.sqrt(s / split.n);
    return v > 1e-12 ? v : 1;
  });
  return { mean: Array.from(mean), std };
}

/** `(x - mean) / std` in place. Use it on new data at inference exactly as on the splits. */
export function applyStandardization(x: Float32Array, st: Standardization): void {
  const nf = st.mean.length;
  for (let i = 0; i < x.length; i++) x[i] = (x[i] - st.mean[i % nf]) / st.std[i % nf];
}

export async function loadCsv(source: CsvSource, opts: LoadOptions = {}): Promise<LoadedDataset> {
  const parsed = parseCsvDataset(source);
  const sampleShape = [parsed.featureNames.length];
  const { train, val, test } = splitUserDataset({ x: parsed.x, y: parsed.y, sampleShape }, parsed.classes.length, opts);
  const standardization = fitStandardization(train);
  for (const s of [train, val, test]) applyStandardization(s.x, standardization);
  const info: DatasetInfo = {
    name: opts.name ?? path.basename(parsed.file).replace(/\.[^.]+$/, ''),
    kind: 'csv',
    source: parsed.file,
    contentHash: parsed.contentHash,
    modality: 'tabular',
    classes: parsed.classes,
    counts: parsed.counts,
    inputShape: sampleShape,
    featureNames: parsed.featureNames,
    standardization,
    split: { seed: opts.seed ?? 0, train: train.n, val: val.n, test: test.n, ...(train.labeledMask ? { labeled: opts.labeledCount } : {}) },
  };
  return { info, train, val, test };
}

export async function previewCsv(source: CsvSource): Promise<DatasetPreview> {
  const parsed = parseCsvDataset(source);
  const ignored = parsed.columns.filter((c) => c !== source.labelColumn && !parsed.featureNames.includes(c));
  return {
    kind: 'csv',
    source: parsed.file,
    modality: 'tabular',
    classes: parsed.classes.map((name, i) => ({ name, count: parsed.counts[i], samples: [] })),
    total: parsed.y.length,
    inputShape: [parsed.featureNames.length],
    columns: parsed.columns,
    featureNames: parsed.featureNames,
    warnings: ignored.length ? [`Ignored columns: ${ignored.join(', ')}.`] : [],
  };
}

/** The header only, so the wizard can offer the label column before anything is parsed. */
export function csvColumns(file: string, delimiter?: string): string[] {
  const fd = fs.openSync(file, 'r');
  try {
    const buf = Buffer.alloc(64 * 1024);
    const len = fs.readSync(fd, buf, 0, buf.length, 0);
    const text = buf.subarray(0, len).toString('utf8');
    const firstLine = text.split(/\r?\n/)[0];
    const rows = parse(firstLine, { bom: true, delimiter: delimiter ?? guessDelimiter(firstLine), trim: true }) as string[][];
    return rows[0] ?? [];
  } finally {
    fs.closeSync(fd);
  }
}

/** The label column a user most likely means: a conventional name, else the last column. */
export function suggestLabelColumn(columns: string[]): string | undefined {
  const names = ['label', 'labels', 'class', 'target', 'y', 'category', 'species'];
  return columns.find((c) => names.includes(c.trim().toLowerCase())) ?? columns[columns.length - 1];
}
