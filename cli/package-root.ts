/**
 * Files shipped with navlake (package.json, the sample export), found from this module's location. The same code runs
 * from cli/ through tsx and from dist/ or dist/chunks/ once compiled, so a fixed `../..` would be wrong in one of them.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

function findRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const manifest = join(dir, 'package.json');
    if (existsSync(manifest) && (JSON.parse(readFileSync(manifest, 'utf8')) as { name?: string }).name === 'navlake') return dir;
    const parent = dirname(dir);
    if (parent === dir) throw new Error(`navlake's package.json not found above ${fileURLToPath(import.meta.url)}`);
    dir = parent;
  }
}

let root: string | undefined;

/** An absolute path inside the navlake package. */
export function packagePath(...segments: string[]): string {
  root ??= findRoot();
  return join(root, ...segments);
}
