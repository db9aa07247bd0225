// The compiled CLI that `npm ci` builds (bin/build-cli.mjs) behaves as the TypeScript sources do. Built here into a
// private directory, so the test holds whatever state dist/ is in and never rewrites a build other tests are running.
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const exec = promisify(execFile);
const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const OUT = `.build-test-${process.pid}`;
const SAMPLE = join(ROOT, 'fixtures', 'nav-tiltak-fylke-2019.txt');
const ENV = { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' };

const compiled = (args: string[]) => exec(process.execPath, [join(ROOT, OUT, 'main.js'), ...args], { env: ENV, maxBuffer: 1 << 26 });
const sources = (args: string[]) =>
  exec(process.execPath, ['--import', 'tsx', join(ROOT, 'cli', 'main.ts'), ...args], { env: ENV, maxBuffer: 1 << 26 });

let work: string;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'navlake-build-'));
  await exec(process.execPath, [join(ROOT, 'bin', 'build-cli.mjs'), '--outdir', OUT], { cwd: ROOT });
}, 120_000);
afterAll(async () => {
  await rm(join(ROOT, OUT), { recursive: true, force: true });
  await rm(work, { recursive: true, force: true });
});

describe('the compiled CLI', () => {
  it('prints the version from package.json', async () => {
    const { version } = JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8')) as { version: string };

    expect((await compiled(['--version'])).stdout.trim()).toBe(version);
  });

  it('parses as the sources do, byte for byte', async () => {
    const args = ['parse', SAMPLE, '--format', 'csv'];
    const [built, source] = await Promise.all([compiled(args), sources(args)]);

    expect(built.stdout.split('\n')).toHaveLength(7432);
    expect(built.stdout).toBe(source.stdout);
    expect(built.stderr).toBe(source.stderr);
  });

  it('runs the demo: finds the bundled sample, answers with DuckDB, writes the report with Vega', async () => {
    const lake = join(work, 'demo-lake');
    const { stdout } = await compiled(['demo', '--lake', lake]);

    expect(stdout).toMatch(/accepted, 7430 records/);
    expect(stdout).toContain(' 7430 ');
    expect((await stat(join(lake, 'report.html'))).size).toBeGreaterThan(10_000);
  });
});
