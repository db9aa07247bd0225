#!/usr/bin/env node
// The `navlake` command. `npm ci` compiles the CLI into dist/ (the `prepare` script); a checkout whose TypeScript is
// newer than that build runs the sources through tsx instead, so an edit never meets a stale build.
import { BUILT_CLI, builtCliIsCurrent } from './cli-build-state.mjs';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

if (builtCliIsCurrent()) {
  await import(BUILT_CLI);
} else {
  const { register } = await import('tsx/esm/api');
  register();
  await import('../cli/main.ts');
}
