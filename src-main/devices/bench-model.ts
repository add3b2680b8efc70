/**
 * What a benchmark runs, linked to its stored artifact whenever we can tell which one it is: a
 * benchmark with an artifact id is what Compare, Trends and the run view show; one without is only
 * in the Devices list. The UI passes an artifact id; the CLI takes `artifact:N` or a path, and a
 * path whose bytes are a stored .tflite (same SHA-256) is linked to that artifact too.
 */
import fs from 'node:fs';
import path from 'node:path';
import { AppError } from '../../src-shared/errors';
import type { ArtifactSummary } from '../../src-shared/types';
import type { Store } from '../store';
import { sha256File } from './runners';

export interface BenchModel {
  path: string;
  /** Shown in progress and lists (the artifact's name); the file name when absent. */
  name?: string;
  artifactId: number | null;
  /** How the artifact was found: named by the user, or recognised by the file's content. */
  linkedBy: 'reference' | 'content' | null;
  /** Set when the file's content matches several artifacts: the one chosen and the others. */
  others?: number[];
}

/** A stored .tflite artifact as a benchmark model; clear errors for a missing id or a TF.js artifact. */
export function artifactModel(store: Store, id: number): BenchModel {
  const a = store.artifacts.get(id);
  if (!a) throw new AppError('NOT_FOUND', `There is no artifact #${id}. Artifact numbers are shown as #N in the app (Compare, a run's artifacts) and by \`pocketbench export\`.`);
  if (a.format !== 'tflite') throw new AppError('NOT_TFLITE', `Artifact #${id} (${a.name}) is a ${a.format} model; benchmarks need a .tflite file. Export it first.`);
  return { path: a.path, name: a.name, artifactId: a.id, linkedBy: 'reference' };
}

const REF = /^(?:artifact:|#)(\d+)$/;

/** `artifact:N` (or `#N`) names a stored artifact; anything else is a path, linked when its content is a stored .tflite. */
export async function benchModelFor(store: Store, arg: string): Promise<BenchModel> {
  const ref = REF.exec(arg.trim());
  if (ref) return artifactModel(store, Number(ref[1]));
  if (/^artifact:/.test(arg)) throw new AppError('INVALID_ARGS', `"${arg}" is not an artifact reference: write artifact:N with the artifact's number (e.g. artifact:5).`);
  if (!fs.existsSync(arg) || !fs.statSync(arg).isFile()) return { path: arg, artifactId: null, linkedBy: null }; // the lab says what is wrong
  const matches = store.artifacts.withContent('tflite', await sha256File(arg));
  if (!matches.length) return { path: arg, artifactId: null, linkedBy: null };
  // The artifact stored at this very path wins; otherwise the newest with the same bytes.
  const here = path.resolve(arg);
  const pick: ArtifactSummary = matches.find((a) => path.resolve(a.path) === here) ?? matches[0];
  const others = matches.filter((a) => a.id !== pick.id).map((a) => a.id);
  return { path: arg, name: pick.name, artifactId: pick.id, linkedBy: 'content', ...(others.length ? { others } : {}) };
}
