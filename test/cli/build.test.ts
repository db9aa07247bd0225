// The compiled CLI that `npm ci` builds (bin/build-cli.mjs) behaves as the TypeScript sources do. Built here into a
// private directory, so the test holds whatever state dist/ is in and never rewrites a build other tests are running.
import { isAscii } from 'node:buffer';
import { execFile } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
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

const CACHE = join(ROOT, OUT, '.cache');
const cacheOf = (command: string) => join(CACHE, `${command}-${process.version}-${process.arch}.bin`);
const compiled = (args: string[]) => exec(process.execPath, [join(ROOT, OUT, 'main.mjs'), ...args], { env: ENV, maxBuffer: 1 << 26 });
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

  it('is ASCII, so that it loads as a one-byte string (a regular expression literal is where a non-ASCII character stays)', async () => {
    expect(isAscii(await readFile(join(ROOT, OUT, 'cli.cjs')))).toBe(true);
  });

  it('keeps a code cache per command after a successful run, and runs the same from it', async () => {
    const args = ['parse', SAMPLE, '--format', 'csv'];
    const first = await compiled(args);
    const cache = await stat(cacheOf('parse'));
    const second = await compiled(args);

    expect(cache.size).toBeGreaterThan(100_000);
    expect((await stat(cacheOf('parse'))).mtimeMs).toBe(cache.mtimeMs);
    expect(second.stdout).toBe(first.stdout);
    expect(second.stderr).toBe(first.stderr);
  });

  it('writes no cache for a failed run, and leaves no temporary files', async () => {
    const failed = compiled(['query', 'SELECT 1', '--lake', join(work, 'no-such-lake')]);

    await expect(failed).rejects.toMatchObject({ code: 2 });
    await expect(stat(cacheOf('query'))).rejects.toMatchObject({ code: 'ENOENT' });
    expect((await readdir(CACHE)).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });

  it('runs from a cache V8 cannot use (cut, or not a cache at all) as without one, and replaces it', async () => {
    await compiled(['schema']);
    const good = await readFile(cacheOf('schema'));
    const expected = (await sources(['schema'])).stdout;

    for (const damaged of [good.subarray(0, good.length >> 1), Buffer.alloc(good.length, 0x5a)]) {
      await writeFile(cacheOf('schema'), damaged);
      const { stdout } = await compiled(['schema']);

      expect(stdout).toBe(expected);
      expect((await readFile(cacheOf('schema'))).equals(damaged)).toBe(false);
    }
  });

  it("removes a killed writer's temporary file, and only that", async () => {
    const orphan = `${cacheOf('other')}.999999999-0badcafe.tmp`;
    const live = `${cacheOf('other')}.${process.pid}-0badcafe.tmp`;
    await writeFile(orphan, 'partial');
    await writeFile(live, 'being written');
    await rm(cacheOf('other'), { force: true });

    await compiled(['--version']);

    await expect(stat(orphan)).rejects.toMatchObject({ code: 'ENOENT' });
    expect(await readFile(live, 'utf8')).toBe('being written');
    await rm(live);
  });
});
