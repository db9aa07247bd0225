#!/usr/bin/env node
// The `navlake` command. Sources are TypeScript, loaded through tsx so that no build step stands between a clone and a run.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
const { register } = await import('tsx/esm/api');
register();
await import('../cli/main.ts');
