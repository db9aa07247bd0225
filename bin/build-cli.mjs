#!/usr/bin/env node
// Compiles the CLI into dist/ (run by `npm ci` through `prepare`). Start-up is most of a short command's time:
// loading the TypeScript through tsx, Node's ESM loader lexing every CommonJS file of the SDK and DuckDB for its
// exports, and V8 compiling it all. One bundle, run with a code cache (dist/main.mjs, bin/code-cache.mjs), takes
// each of those away; only native code stays outside.
// `--if-stale`: only when a source is newer than the build (the bench), so that a build other processes are running
// is not rewritten under them.
import { rm, writeFile } from 'node:fs/promises';
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
  // A rebuild starts from an empty directory: code caches of an older bundle would only be rejected.
  await rm(`${ROOT}${outdir}`, { recursive: true, force: true });
  await esbuild.build({
    absWorkingDir: ROOT,
    entryPoints: ['cli/main.ts'],
    outfile: `${outdir}/cli.cjs`,
    bundle: true,
    minify: true,
    // CommonJS, because Node 20 keeps a code cache only for scripts (bin/code-cache.mjs); dynamic imports become
    // require() calls, so a module a command does not import is still never evaluated.
    format: 'cjs',
    supported: { 'dynamic-import': false },
    platform: 'node',
    // The AWS SDK's ES module builds tree-shake to a third of its CommonJS ones (as the Lambda bundle does).
    mainFields: ['module', 'main'],
    target: 'node20',
    // DuckDB's bindings load a platform-specific .node file; tsx is only the fallback for a stale build.
    external: ['@duckdb/node-bindings', 'tsx'],
    // vega-canvas's Node build awaits import('canvas') at top level, which CommonJS cannot; reports render SVG, which
    // needs no canvas, and without the optional canvas package both builds give none.
    alias: { 'vega-canvas': './node_modules/vega-canvas/build/vega-canvas.browser.js' },
    define: { 'import.meta.url': '__navlakeBundleUrl' },
    banner: { js: 'const __navlakeBundleUrl = require("node:url").pathToFileURL(__filename).href;' },
    logLevel: 'warning',
  });
  await writeFile(
    `${ROOT}${outdir}/main.mjs`,
    "// Written by bin/build-cli.mjs.\nimport { runWithCodeCache } from '../bin/code-cache.mjs';\n\nrunWithCodeCache(new URL('./cli.cjs', import.meta.url));\n",
  );
}
