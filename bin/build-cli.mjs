#!/usr/bin/env node
// Compiles the CLI into dist/ (run by `npm ci` through `prepare`). Start-up is most of a short command's time:
// loading the TypeScript through tsx, and Node's ESM loader lexing every CommonJS file of the SDK and DuckDB for
// its exports. One bundle with split chunks loads only what a command imports; only native code stays outside.
import { build } from 'esbuild';

await build({
  entryPoints: ['cli/main.ts'],
  outdir: 'dist',
  chunkNames: 'chunks/[name]-[hash]',
  bundle: true,
  splitting: true,
  minify: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  // DuckDB's bindings load a platform-specific .node file; tsx is only the fallback for a stale build.
  external: ['@duckdb/node-bindings', 'tsx'],
  // Bundled CommonJS still calls require() for Node's built-ins.
  banner: { js: 'import { createRequire as __navlakeRequire } from "node:module"; const require = __navlakeRequire(import.meta.url);' },
  logLevel: 'warning',
});
