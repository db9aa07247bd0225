// Keeps `npm run bench` working: the whole script in its tiny mode, every field it promises present and sane.
// No timing is asserted here; the figures live in bench/results.json.
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

it('runs the benchmark in quick mode and writes every result field', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'navlake-bench-test-'));
  try {
    const out = join(dir, 'results.json');
    const { stdout } = await promisify(execFile)(
      process.execPath,
      ['--openssl-legacy-provider', '--import', 'tsx', 'bench/run.ts', '--quick', '--out', out],
      { cwd: ROOT, maxBuffer: 1 << 22, timeout: 240_000 },
    );
    expect(stdout).toContain('parse.ratio');
    const r = JSON.parse(await readFile(out, 'utf8')) as Record<string, Record<string, unknown>>;
    for (const path of [
      'parse.records_per_s',
      'parse.baseline_records_per_s',
      'parse.ratio',
      'transform.records_per_s',
      'transform.baseline_records_per_s',
      'transform.ratio',
      'memory.input_mb',
      'memory.peak_rss_mb',
      'lambda.bundle_kb',
      'lambda.cold_start_ms',
      'e2e.upload_to_query_ms',
      'athena.bytes_all',
      'athena.bytes_one_month',
      'athena.pruning_factor',
      'cli.parse_ms',
      'cli.ingest_ms',
      'cli.query_ms',
      'cli.report_ms',
      'cli.parse_peak_rss_mb',
    ]) {
      const [group, field] = path.split('.') as [string, string];
      expect(r[group]?.[field], path).toEqual(expect.any(Number));
      expect(r[group]?.[field] as number, path).toBeGreaterThan(0);
    }
    expect(r.cli?.first_run_ms).toEqual({ ingest: expect.any(Number), query: expect.any(Number), report: expect.any(Number) });
    expect(r.athena?.months).toBe(24);
    expect(r.peer).toBeDefined();
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}, 300_000);
