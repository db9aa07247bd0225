/**
 * SIGKILL `navlake ingest` at random moments and run it again: the lake must always end as a clean run leaves it.
 * Too slow for `npm test` (two CLI runs per trial); CI runs it as `npm run test:kill` (default 30 trials).
 *
 *   node --import tsx test/reliability/kill-loop.ts [--trials 30] [--seed 1]
 *
 * Each trial: a fresh lake; `ingest` of five files (three of one dataset, one of another, one bad) at --concurrency 2,
 * killed after a random delay within a clean run's duration; then the same `ingest` again to completion; then
 * `navlake check`. Compared with the clean run: the values (dataset, section, region, month, value, suppression,
 * vintage), the absence of duplicates, the exit status and the ingestion outcome per file. Which of two uploads with
 * equal values holds a cell may differ (that depends on upload times), so source keys and ranks are not compared.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { generateExport } from '../../bench/generate-export.ts';

const NAVLAKE = fileURLToPath(new URL('../../bin/navlake.mjs', import.meta.url));
const SEED = fileURLToPath(new URL('../../fixtures/nav-tiltak-fylke-2019.txt', import.meta.url));
const TITLE = 'Deltakere i arbeidsrettede tiltak. Tiltaksgruppe og fylke. Tidsserie måned';

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
  killed: boolean;
  ms: number;
}

function run(args: string[], killAfterMs?: number): Promise<Run> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const child = spawn(process.execPath, [NAVLAKE, ...args], {
      env: { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    let killed = false;
    // Decoded as a stream: a character split between two pipe chunks must not become two U+FFFD (it once made a
    // sound lake look different from the clean one).
    child.stdout.setEncoding('utf8');
    child.stderr.setEncoding('utf8');
    child.stdout.on('data', (d: string) => {
      stdout += d;
    });
    child.stderr.on('data', (d: string) => {
      stderr += d;
    });
    const timer =
      killAfterMs === undefined
        ? undefined
        : setTimeout(() => {
            killed = child.exitCode === null && child.kill('SIGKILL');
          }, killAfterMs);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr, killed, ms: Date.now() - started });
    });
  });
}

async function prepareFiles(dir: string): Promise<string[]> {
  const seed = await readFile(SEED, 'utf8');
  const files: Array<[string, string]> = [
    ['tiltak-2019.txt', seed],
    ['tiltak-2017-2018.txt', generateExport({ seed: 7, years: [2017, 2018], sectionsPerYear: 12 })],
    ['tiltak-2019-cut.txt', Buffer.from(seed, 'utf8').subarray(0, 20000).toString('utf8')],
    ['other-table-2019.txt', seed.split(TITLE).join('Deltakere i arbeidsrettede tiltak. Kopi for test')],
    ['bad-number.txt', seed.replace('14 402', '14 4O2')],
  ];
  for (const [name, text] of files) await writeFile(join(dir, name), text);
  return files.map(([name]) => join(dir, name));
}

/** The lake's values as sorted lines, and whether any cell appears twice. */
async function lakeValues(lake: string): Promise<{ lines: string[]; duplicates: number; outcomes: string[] }> {
  const values = await run([
    'query',
    `SELECT dataset, main_group, measure_group, region, period, value, suppressed, source_vintage FROM observations
     ORDER BY ALL`,
    '--lake',
    lake,
    '--format',
    'csv',
  ]);
  const dups = await run([
    'query',
    `SELECT count(*) - count(DISTINCT (dataset, main_group, measure_group, region, period)) AS n FROM observations`,
    '--lake',
    lake,
    '--format',
    'csv',
  ]);
  const outcomes = await run([
    'query',
    // A delivery replayed after the kill may run after the re-run's newer upload of the same file: that one is
    // superseded, correctly. What must match is whether each file got in at all, and why not.
    `SELECT regexp_replace(source_key, '-[0-9a-f]{8}', '') AS file,
       CASE WHEN bool_or(status = 'accepted') THEN 'accepted' WHEN bool_or(status = 'rejected') THEN 'rejected' ELSE 'superseded' END AS status,
       max(error_code) AS error_code
     FROM ingestions GROUP BY file ORDER BY file`,
    '--lake',
    lake,
    '--format',
    'csv',
  ]);
  if (values.code !== 0 || dups.code !== 0 || outcomes.code !== 0)
    throw new Error(`query failed: ${values.stderr}${dups.stderr}${outcomes.stderr}`);
  return {
    lines: values.stdout.trim().split('\n'),
    duplicates: Number(dups.stdout.trim().split('\n')[1]),
    outcomes: outcomes.stdout.trim().split('\n'),
  };
}

/** A small deterministic generator, so that a failing trial can be run again with the same delays. */
function random(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) / 2 ** 32;
  };
}

async function main(): Promise<void> {
  const { values: opts } = parseArgs({
    options: {
      trials: { type: 'string', default: '30' },
      seed: { type: 'string', default: '1' },
      keep: { type: 'boolean', default: false },
    },
  });
  const trials = Number(opts.trials);
  const next = random(Number(opts.seed));
  const dir = await mkdtemp(join(tmpdir(), 'navlake-kill-'));
  try {
    const files = await prepareFiles(dir);
    const ingest = (lake: string) => ['ingest', ...files, '--lake', lake, '--concurrency', '2'];

    // Once before timing: the first run of a command after a build compiles it and leaves its code cache, so it is
    // slower than every run the kills are timed against.
    await run(ingest(join(dir, 'warm-up')));
    const cleanLake = join(dir, 'clean');
    const clean = await run(ingest(cleanLake));
    const expected = await lakeValues(cleanLake);
    console.log(`clean run: exit ${clean.code} in ${clean.ms} ms, ${expected.lines.length - 1} values`);
    if (clean.code !== 1 || expected.duplicates !== 0) throw new Error(`the clean run is not as expected:\n${clean.stdout}${clean.stderr}`);

    let midIngest = 0;
    const failures: string[] = [];
    for (let t = 1; t <= trials; t++) {
      const lake = join(dir, `trial-${t}`);
      // Kills land anywhere from late in start-up (about a fifth of a run) to the last write.
      const delay = Math.round(clean.ms * (0.2 + 0.8 * next()));
      const killedRun = await run(ingest(lake), delay);
      const state = await stateOf(lake);
      if (killedRun.killed && state.uploads > 0 && !state.done) midIngest++;
      const rerun = await run(ingest(lake));
      const got = await lakeValues(lake);
      const check = await run(['check', '--lake', lake]);
      const same = JSON.stringify(got.lines) === JSON.stringify(expected.lines);
      const ok =
        same &&
        got.duplicates === 0 &&
        rerun.code === clean.code &&
        check.code === 0 &&
        JSON.stringify(got.outcomes) === JSON.stringify(expected.outcomes);
      console.log(
        `trial ${t}: kill at ${delay} ms (${killedRun.killed ? `killed; ${state.uploads} uploads stored, ${state.pending} pending, ${state.done ? 'all' : 'not all'} processed` : 'finished first'}); re-run exit ${rerun.code}; ${same ? 'same values' : 'DIFFERENT values'}; duplicates ${got.duplicates}; check exit ${check.code}`,
      );
      if (!ok) {
        const missing = expected.lines.filter((l) => !got.lines.includes(l)).slice(0, 5);
        const extra = got.lines.filter((l) => !expected.lines.includes(l)).slice(0, 5);
        failures.push(
          `trial ${t} (delay ${delay} ms): ${rerun.stdout}${rerun.stderr}${check.stdout}\nmissing: ${missing.join('\n  ')}\nextra: ${extra.join('\n  ')}\noutcomes: ${got.outcomes.join(' ; ')}`,
        );
        if (process.env.NAVLAKE_KEEP_FAILED) console.error(`kept ${lake}`);
        else await rm(lake, { recursive: true, force: true });
      } else await rm(lake, { recursive: true, force: true });
    }
    console.log(`kill loop: ${trials} trials, ${midIngest} killed mid-ingest, ${failures.length} differing from the clean run`);
    if (failures.length > 0) {
      console.error(failures.join('\n---\n'));
      process.exitCode = 1;
    } else if (midIngest < trials / 2) {
      console.error('kill loop: fewer than half the kills landed mid-ingest; the delays no longer fit the run time');
      process.exitCode = 1;
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** What the killed run left: uploads stored in the raw bucket, deliveries pending, and whether all were processed. */
async function stateOf(lake: string): Promise<{ uploads: number; pending: number; done: boolean }> {
  const count = async (d: string, suffix: string) => (existsSync(d) ? (await readdir(d)).filter((n) => n.endsWith(suffix)).length : 0);
  const uploads = await count(join(lake, 's3', 'navlake-raw'), '._S3rver_object');
  const pending = await count(join(lake, 'pending'), '.json');
  const processed = await count(join(lake, 'processed'), '.json');
  return { uploads, pending, done: uploads === 5 && processed >= 5 && pending === 0 };
}

await main();
