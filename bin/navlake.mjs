#!/usr/bin/env node
// The `navlake` command. `npm ci` compiles the CLI into dist/ (the `prepare` script); a checkout whose TypeScript is
// newer than that build runs the sources through tsx instead, so an edit never meets a stale build.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
const root = fileURLToPath(new URL('..', import.meta.url));
const built = `${root}dist/main.js`;

function newestSource() {
  let newest = 0;
  for (const dir of ['cli', 'lambdas']) {
    for (const entry of readdirSync(`${root}${dir}`, { recursive: true })) {
      if (entry.endsWith('.ts')) newest = Math.max(newest, statSync(`${root}${dir}/${entry}`).mtimeMs);
    }
  }
  return newest;
}

if (existsSync(built) && statSync(built).mtimeMs >= newestSource()) {
  await import(built);
} else {
  const { register } = await import('tsx/esm/api');
  register();
  await import('../cli/main.ts');
}
