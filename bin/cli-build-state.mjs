// Whether dist/ holds a build of the CLI at least as new as every TypeScript source it is built from.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('..', import.meta.url));
export const BUILT_CLI = `${ROOT}dist/main.mjs`;

export function builtCliIsCurrent() {
  if (!existsSync(BUILT_CLI)) return false;
  const built = statSync(BUILT_CLI).mtimeMs;
  for (const dir of ['cli', 'lambdas']) {
    for (const entry of readdirSync(`${ROOT}${dir}`, { recursive: true })) {
      if (entry.endsWith('.ts') && statSync(`${ROOT}${dir}/${entry}`).mtimeMs > built) return false;
    }
  }
  return true;
}
