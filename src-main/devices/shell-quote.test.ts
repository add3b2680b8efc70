import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { command, quote } from './shell-quote';

describe('shell quoting', () => {
  it('leaves plain words alone and quotes the rest', () => {
    expect(quote('/data/local/tmp/benchmark_model')).toBe('/data/local/tmp/benchmark_model');
    expect(quote('--num_threads=4')).toBe('--num_threads=4');
    expect(quote('')).toBe("''");
    expect(quote("it's")).toBe(`'it'\\''s'`);
  });

  it('makes a hostile model name harmless in a real POSIX shell', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pb-quote-'));
    const victim = path.join(dir, 'x.tflite');
    fs.writeFileSync(victim, 'keep me');
    const names = ['a b;rm -rf x.tflite', "q'uote;rm x.tflite", '$(rm x.tflite)', '`rm x.tflite`', 'a\nrm x.tflite', '&& rm x.tflite |', '--graph=*'];
    for (const name of names) {
      const out = execFileSync('sh', ['-c', command('printf', '%s\\n', name)], { cwd: dir, encoding: 'utf8' });
      expect(out).toBe(`${name}\n`);
      expect(fs.readFileSync(victim, 'utf8')).toBe('keep me');
    }
    fs.rmSync(dir, { recursive: true, force: true });
  });
});
