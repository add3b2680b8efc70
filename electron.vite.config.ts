import { resolve } from 'node:path';
import { defineConfig } from 'electron-vite';
import { svelte } from '@sveltejs/vite-plugin-svelte';

const r = (p: string) => resolve(import.meta.dirname, p);

/**
 * Three builds:
 * - main: every Node entry (Electron main, browser-mode server, CLI, workers, benchmarks), ESM;
 *   dependencies stay external (native modules and wasm files load from node_modules).
 * - preload: CommonJS, because a sandboxed preload cannot be an ES module.
 * - renderer: the Svelte UI; root is src-renderer, so the Svelte config is passed explicitly.
 */
export default defineConfig({
  main: {
    build: {
      outDir: 'out/main',
      rolldownOptions: {
        input: {
          index: r('src-main/app/main.ts'),
          serve: r('src-main/host/serve-main.ts'),
          cli: r('src-main/cli/main.ts'),
          'pipeline-worker': r('src-main/pipeline/worker-main.ts'),
          'task-worker': r('src-main/tasks/worker-main.ts'),
        },
        output: { entryFileNames: '[name].js', chunkFileNames: 'chunks/[name]-[hash].js' },
      },
    },
  },
  preload: {
    build: {
      outDir: 'out/preload',
      // A sandboxed preload can require only `electron`: bundle everything else into it.
      externalizeDeps: false,
      rolldownOptions: {
        input: { index: r('src-main/app/preload.ts') },
        output: { format: 'cjs', entryFileNames: '[name].cjs' },
      },
    },
  },
  renderer: {
    root: r('src-renderer'),
    plugins: [svelte({ configFile: r('svelte.config.js') })],
    build: {
      outDir: r('out/renderer'),
      rolldownOptions: { input: { index: r('src-renderer/index.html') } },
    },
  },
});
