// Edges of the CLI a user runs into: a busy port, a wrong --lake, several statements, --version, parse's output.
import { readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseFile } from '../../lambdas/parser/index.ts';
import { OBSERVATION_COLUMNS } from '../../lambdas/schema/columns.ts';
import { navlake } from '../helpers/cli.ts';

let work: string;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'navlake-edges-'));
});
afterAll(() => rm(work, { recursive: true, force: true }));

describe('navlake serve', () => {
  it('refuses a port in use with one line naming the port, exit 2', async () => {
    const blocker: Server = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const port = (blocker.address() as { port: number }).port;
    try {
      const r = await navlake(['serve', '--lake', join(work, 'busy'), '--port', String(port)]);
      expect(r.code).toBe(2);
      expect(r.stderr).toBe(`navlake: port ${port} is in use (another navlake serve?); stop it or pick another with --port\n`);
    } finally {
      await new Promise((resolve) => blocker.close(resolve));
    }
  });
});

describe('navlake query --lake', () => {
  const notALake = (dir: string) =>
    `navlake: ${dir} is not a navlake lake (no s3/ directory); ingest into it first or pick another --lake\n`;

  it('refuses a missing directory', async () => {
    const dir = join(work, 'missing');
    const r = await navlake(['query', 'SELECT 0', '--lake', dir]);
    expect(r).toMatchObject({ code: 2, stdout: '', stderr: notALake(dir) });
  });

  it('refuses an empty directory', async () => {
    const dir = join(work, 'empty');
    await mkdir(dir);
    const r = await navlake(['query', 'SELECT 0', '--lake', dir]);
    expect(r).toMatchObject({ code: 2, stdout: '', stderr: notALake(dir) });
  });

  it('refuses a directory that is not a lake (/etc)', async () => {
    const r = await navlake(['query', 'SELECT 0', '--lake', '/etc']);
    expect(r).toMatchObject({ code: 2, stdout: '', stderr: notALake('/etc') });
  });
});

describe('navlake query with several statements', () => {
  let lake: string;
  beforeAll(async () => {
    lake = join(work, 'lake');
    await mkdir(join(lake, 's3'), { recursive: true });
  });

  it('refuses two statements with one line, exit 2, but not a semicolon in a string literal or a trailing one', async () => {
    const r = await navlake(['query', 'SELECT 1; SELECT 2', '--lake', lake, '--format', 'json']);
    expect(r).toMatchObject({ code: 2, stdout: '', stderr: 'navlake: the SQL holds 2 statements; query runs one statement at a time\n' });

    const literal = await navlake(['query', "SELECT 'a;b' AS x", '--lake', lake, '--format', 'json']);
    expect(literal).toMatchObject({ code: 0, stderr: '' });
    expect(JSON.parse(literal.stdout)).toEqual([{ x: 'a;b' }]);

    const trailing = await navlake(['query', 'SELECT 1 AS n;', '--lake', lake, '--format', 'json']);
    expect(trailing).toMatchObject({ code: 0, stderr: '' });
    expect(JSON.parse(trailing.stdout)).toEqual([{ n: 1 }]);
  });
});

describe('navlake --version', () => {
  it('prints the package.json version, exit 0', async () => {
    const { version } = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
    const r = await navlake(['--version']);
    expect(r).toMatchObject({ code: 0, stdout: `${version}\n`, stderr: '' });
  });
});

describe('navlake parse of a directory', () => {
  it('is refused with one line naming the path, exit 2', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'navlake-parse-dir-'));
    try {
      const result = await navlake(['parse', dir]);

      expect(result.code).toBe(2);
      expect(result.stderr.trim().split('\n')).toEqual([`navlake: ${dir}: not a file; give one export file`]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('output read from a pipe', () => {
  it('keeps every multi-byte character whole across pipe chunks (the test harness decodes as a stream)', async () => {
    // 'ab\n' puts every 'ø' (2 bytes) at an odd offset, so a 64 KiB chunk boundary falls inside one.
    const lake = join(work, 'pipe-lake');
    await mkdir(join(lake, 's3'), { recursive: true });
    const result = await navlake(['query', "SELECT repeat('ø', 100000) AS ab", '--lake', lake, '--format', 'csv']);

    expect(result.code).toBe(0);
    expect(result.stdout).not.toContain('\uFFFD');
    expect(result.stdout).toBe(`ab\n${'ø'.repeat(100000)}\n`);
  });
});

describe('navlake parse output', () => {
  const SAMPLE = fileURLToPath(new URL('../../fixtures/nav-tiltak-fylke-2019.txt', import.meta.url));

  it('prints a table that fits a 100-column terminal, with the columns that differ between rows', async () => {
    const result = await navlake(['parse', SAMPLE, '--format', 'table']);

    expect(result.code).toBe(0);
    const lines = result.stdout.trimEnd().split('\n');
    expect(Math.max(...lines.map((l) => [...l].length))).toBeLessThanOrEqual(100);
    expect(lines[0]?.split(/\s+/)).toEqual(['main_group', 'measure_group', 'region', 'region_code', 'period', 'value']);
    expect(lines.at(-1)).toBe('(7430 rows)');
  });

  it('prints the columns asked for with --columns, and refuses an unknown one naming the choices, exit 2', async () => {
    const csv = await navlake(['parse', SAMPLE, '--format', 'csv', '--columns', 'period,region,value']);
    const bad = await navlake(['parse', SAMPLE, '--columns', 'period,valeu']);

    expect(csv.stdout.split('\n').slice(0, 2)).toEqual(['period,region,value', '2019-01,I alt,14402']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/^navlake: --columns: no column "valeu"; choose from dataset, .*section_rank\n$/);
  });

  it('writes NDJSON byte for byte as JSON.stringify of each record, Norwegian letters included', async () => {
    const [cli, direct] = await Promise.all([
      navlake(['parse', SAMPLE]),
      parseFile(SAMPLE, { file: basename(SAMPLE), sourceKey: basename(SAMPLE) }),
    ]);
    const columns = OBSERVATION_COLUMNS.map((c) => c.name);
    const expected = direct.records.map((r) => JSON.stringify(Object.fromEntries(columns.map((c) => [c, r[c] ?? null]))));

    expect(cli.stdout).toBe(`${expected.join('\n')}\n`);
    expect(cli.stdout).toContain('"region":"Møre og Romsdal"');
  });
});
