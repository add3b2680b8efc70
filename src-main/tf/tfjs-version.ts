/**
 * PocketBench's fast training paths reach into tfjs internals (tfjs-layers' `Conv2D.call` and
 * `Dense.call`, the wasm backend's heap and kernel registry): they are written and tested against one
 * exact tfjs release, pinned in package.json. Another release (a manual upgrade, a different lock)
 * runs unpatched, on the stock kernels, with a notice instead of with patches that may corrupt it.
 */
import { version_core } from '@tensorflow/tfjs-core';

/** The tfjs release whose internals the patches in this folder were written against. */
export const PATCHED_TFJS_VERSION = '4.22.0';

/** null when the installed tfjs is the patched release, else the notice to show. */
export function tfjsVersionNotice(versions: Record<string, string>): string | null {
  const other = Object.entries(versions).filter(([, v]) => v !== PATCHED_TFJS_VERSION);
  if (!other.length) return null;
  return `${other.map(([name, v]) => `${name} ${v}`).join(', ')} installed, but PocketBench's fast kernels are made for tfjs ${PATCHED_TFJS_VERSION}: training runs on the stock tfjs kernels (slower); reinstall with \`npm ci\` for the pinned version`;
}

/** The versions of the tfjs packages the patches touch, as loaded. */
export async function installedTfjsVersions(): Promise<Record<string, string>> {
  const [layers, wasm] = await Promise.all([import('@tensorflow/tfjs-layers'), import('@tensorflow/tfjs-backend-wasm')]);
  return { 'tfjs-core': version_core, 'tfjs-layers': layers.version_layers, 'tfjs-backend-wasm': wasm.version_wasm };
}
