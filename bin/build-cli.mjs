#!/usr/bin/env node
// Compiles the CLI into dist/ (run by `npm ci` through `prepare`). Start-up is most of a short command's time:
// loading the TypeScript through tsx, and Node's ESM loader lexing every CommonJS file of the SDK and DuckDB for
// its exports. One bundle with split chunks loads only what a command imports; only native code stays outside.
// `--if-stale`: only when a source is newer than the build (the bench), so that a build other processes are running
// is not rewritten under them.
import { rm } from 'node:fs/promises';
import { builtCliIsCurrent, ROOT } from './cli-build-state.mjs';

// `--outdir DIR`: somewhere else than dist/ (a test builds a private copy).
const outdirAt = process.argv.indexOf('--outdir');
const outdir = outdirAt === -1 ? 'dist' : (process.argv[outdirAt + 1] ?? 'dist');

if (!(process.argv.includes('--if-stale') && builtCliIsCurrent())) await buildCli();

async function buildCli() {
  // Without dev dependencies (npm ci --omit=dev) there is no esbuild: the CLI then runs its sources through tsx.
  const esbuild = await import('esbuild').catch(() => null);
  if (!esbuild) {
    process.stderr.write('navlake: esbuild is not installed; the CLI will run from its TypeScript sources (slower start)\n');
    return;
  }
  // Chunk names carry content hashes: a build over an old one would leave the old chunks behind.
  await rm(`${ROOT}${outdir}`, { recursive: true, force: true });
  await esbuild.build({
    absWorkingDir: ROOT,
    entryPoints: ['cli/main.ts'],
    outdir,
    chunkNames: 'chunks/[name]-[hash]',
    bundle: true,
    splitting: true,
    minify: true,
    format: 'esm',
    platform: 'node',
    // The AWS SDK's ES module builds tree-shake to a third of its CommonJS ones (as the Lambda bundle does).
    mainFields: ['module', 'main'],
    target: 'node20',
    // DuckDB's bindings load a platform-specific .node file; tsx is only the fallback for a stale build.
    external: ['@duckdb/node-bindings', 'tsx'],
    // Bundled CommonJS still calls require() for Node's built-ins.
    banner: { js: 'import { createRequire as __navlakeRequire } from "node:module"; const require = __navlakeRequire(import.meta.url);' },
    logLevel: 'warning',
  });
}
