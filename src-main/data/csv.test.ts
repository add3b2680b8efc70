import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { csvColumns, loadCsv, parseCsvDataset, previewCsv, suggestLabelColumn } from './csv';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'pb-csv-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

function write(name: string, text: string): string {
  const file = path.join(tmp, name);
  fs.writeFileSync(file, text);
  return file;
}

/** 60 rows, 3 species; feature a = row index, b = 10 * class, an id column to ignore. */
function irisLike(): string {
  const species = ['setosa', 'versicolor', 'virginica'];
  const lines = ['id,a,b,species'];
  for (let i = 0; i < 60; i++) lines.push(`r${i},${i},${10 * (i % 3)},${species[i % 3]}`);
  return lines.join('\n') + '\n';
}

function errorOf(fn: () => unknown): { code?: string; message: string; details?: Record<string, unknown> } {
  try {
    fn();
  } catch (err) {
    return err as { code?: string; message: string };
  }
  throw new Error('expected an error');
}

describe('CSV datasets', () => {
  it('parses features and string labels, classes sorted', () => {
    const file = write('iris.csv', irisLike());
    const p = parseCsvDataset({ kind: 'csv', file, labelColumn: 'species', ignoreColumns: ['id'] });
    expect(p.classes).toEqual(['setosa', 'versicolor', 'virginica']);
    expect(p.counts).toEqual([20, 20, 20]);
    expect(p.featureNames).toEqual(['a', 'b']);
    expect(Array.from(p.x.subarray(0, 4))).toEqual([0, 0, 1, 10]);
    expect(Array.from(p.y.subarray(0, 4))).toEqual([0, 1, 2, 0]);
  });

  it('maps integer labels numerically and honours a given class order', () => {
    const file = write('ints.csv', 'x;label\n1;10\n2;2\n3;2\n4;10\n');
    const p = parseCsvDataset({ kind: 'csv', file, labelColumn: 'label' });
    expect(p.classes).toEqual(['2', '10']);
    expect(Array.from(p.y)).toEqual([1, 0, 0, 1]);
    const fixed = parseCsvDataset({ kind: 'csv', file, labelColumn: 'label', classes: ['10', '2'] });
    expect(Array.from(fixed.y)).toEqual([0, 1, 1, 0]);
  });

  it('handles quotes, a BOM, CRLF, blank lines and exponents', () => {
    const file = write('quoted.csv', '\uFEFF"f 1","label"\r\n"1e2","a, b"\r\n\r\n-.5,c\r\n');
    const p = parseCsvDataset({ kind: 'csv', file, labelColumn: 'label' });
    expect(p.classes).toEqual(['a, b', 'c']);
    expect(Array.from(p.x)).toEqual([100, -0.5]);
  });

  it('standardizes with statistics fitted on the training split only', async () => {
    const file = write('iris2.csv', irisLike());
    const ds = await loadCsv({ kind: 'csv', file, labelColumn: 'species', ignoreColumns: ['id'] }, { seed: 2 });
    expect([ds.train.n, ds.val.n, ds.test.n]).toEqual([48, 6, 6]);
    const st = ds.info.standardization!;
    expect(st.mean).toHaveLength(2);
    // Train features now have mean 0 and std 1; the others used the train statistics.
    for (let k = 0; k < 2; k++) {
      let m = 0;
      let v = 0;
      for (let i = 0; i < ds.train.n; i++) m += ds.train.x[i * 2 + k] / ds.train.n;
      for (let i = 0; i < ds.train.n; i++) v += (ds.train.x[i * 2 + k] - m) ** 2 / ds.train.n;
      expect(m).toBeCloseTo(0, 5);
      expect(v).toBeCloseTo(1, 4);
    }
    // Feature a of a test row maps back to its raw value (an integer row index) with the train stats.
    const raw = ds.test.x[0] * st.std[0] + st.mean[0];
    expect(Math.abs(raw - Math.round(raw))).toBeLessThan(1e-3);
    expect(ds.info.featureNames).toEqual(['a', 'b']);
    expect(ds.info.modality).toBe('tabular');
  });

  it('previews columns, features and counts; suggests the label column', async () => {
    const file = write('iris3.csv', irisLike());
    expect(csvColumns(file)).toEqual(['id', 'a', 'b', 'species']);
    expect(suggestLabelColumn(['id', 'a', 'Species'])).toBe('Species');
    expect(suggestLabelColumn(['x', 'y2', 'out'])).toBe('out');
    const p = await previewCsv({ kind: 'csv', file, labelColumn: 'species', ignoreColumns: ['id'] });
    expect(p.columns).toEqual(['id', 'a', 'b', 'species']);
    expect(p.featureNames).toEqual(['a', 'b']);
    expect(p.classes.map((c) => c.count)).toEqual([20, 20, 20]);
    expect(p.inputShape).toEqual([2]);
    expect(p.warnings[0]).toMatch(/Ignored columns: id/);
  });
});

describe('bad CSV files', () => {
  it('a label column that is not there lists the columns', () => {
    const file = write('nolabel.csv', irisLike());
    const err = errorOf(() => parseCsvDataset({ kind: 'csv', file, labelColumn: 'class' }));
    expect(err.code).toBe('INVALID_DATA');
    expect(err.message).toContain(`${file} has no column named "class". Its columns are: "id", "a", "b", "species".`);
    expect(err.details?.columns).toEqual(['id', 'a', 'b', 'species']);
  });

  it('text in a numeric column names the line and column', () => {
    const file = write('text.csv', 'a,b,label\n1,2,x\n3,oops,y\n');
    const err = errorOf(() => parseCsvDataset({ kind: 'csv', file, labelColumn: 'label' }));
    expect(err.message).toContain(`${file}, line 3, column "b": "oops" is not a number`);
    expect(err.details).toMatchObject({ line: 3, column: 'b', value: 'oops' });
    // The id column of irisLike is text too, unless ignored.
    const iris = write('iris-id.csv', irisLike());
    expect(errorOf(() => parseCsvDataset({ kind: 'csv', file: iris, labelColumn: 'species' })).message).toMatch(/line 2, column "id": "r0" is not a number/);
  });

  it('a value beyond float32 (1e999 would be Infinity, then NaN in training) names the line and column', () => {
    for (const big of ['1e999', '-1e39']) {
      const file = write(`big${big}.csv`, `a,b,label\n1,2,x\n3,${big},y\n`);
      const err = errorOf(() => parseCsvDataset({ kind: 'csv', file, labelColumn: 'label' }));
      expect(err.message).toContain(`${file}, line 3, column "b": ${big} is out of range; features are 32-bit floats`);
    }
    const ok = write('edge.csv', 'a,label\n3.4e38,x\n-1e-50,y\n');
    expect(Array.from(parseCsvDataset({ kind: 'csv', file: ok, labelColumn: 'label' }).x).every(Number.isFinite)).toBe(true);
  });

  it('a missing value names the line and column', () => {
    const file = write('missing.csv', 'a,b,label\n1,,x\n');
    expect(errorOf(() => parseCsvDataset({ kind: 'csv', file, labelColumn: 'label' })).message).toContain('line 2, column "b": the value is missing');
  });

  it('ragged rows', () => {
    const file = write('ragged.csv', 'a,b,label\n1,2,x\n1,2\n');
    expect(errorOf(() => parseCsvDataset({ kind: 'csv', file, labelColumn: 'label' })).message).toContain(
      `${file}, line 3: the row has 2 fields but the header has 3`,
    );
    const longer = write('ragged2.csv', 'a,b,label\n1,2,x,9\n');
    expect(errorOf(() => parseCsvDataset({ kind: 'csv', file: longer, labelColumn: 'label' })).message).toMatch(/line 2: the row has 4 fields/);
  });

  it('broken quoting, empty files, one class, duplicate headers, unknown columns to ignore', () => {
    const quote = write('quote.csv', 'a,label\n1,"x\n');
    expect(errorOf(() => parseCsvDataset({ kind: 'csv', file: quote, labelColumn: 'label' })).message).toMatch(/is not a readable CSV file: Quote Not Closed/);
    expect(errorOf(() => parseCsvDataset({ kind: 'csv', file: write('empty.csv', ''), labelColumn: 'label' })).message).toMatch(/is empty/);
    expect(errorOf(() => parseCsvDataset({ kind: 'csv', file: write('header.csv', 'a,label\n'), labelColumn: 'label' })).message).toMatch(/no data rows/);
    expect(errorOf(() => parseCsvDataset({ kind: 'csv', file: write('one.csv', 'a,label\n1,x\n2,x\n'), labelColumn: 'label' })).message).toMatch(/at least two classes/);
    expect(errorOf(() => parseCsvDataset({ kind: 'csv', file: write('dup.csv', 'a,a,label\n1,2,x\n'), labelColumn: 'label' })).message).toMatch(/names the column "a" twice/);
    expect(errorOf(() => parseCsvDataset({ kind: 'csv', file: write('ign.csv', 'a,label\n1,x\n'), labelColumn: 'label', ignoreColumns: ['zz'] })).message).toMatch(/"zz" to ignore is not in/);
    expect(errorOf(() => parseCsvDataset({ kind: 'csv', file: path.join(tmp, 'absent.csv'), labelColumn: 'label' })).code).toBe('NOT_FOUND');
  });
});
