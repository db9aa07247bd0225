/**
 * What a user times: whole `navlake` processes, start-up included, against `node -e 0` (the floor of any Node
 * command) and the pandas script a data team would write first. Every process is started fresh; runs of the things
 * compared alternate so that both see the same machine.
 */
import { execFile, spawn } from 'node:child_process';
import { open, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';

const exec = promisify(execFile);

export interface Sample {
  ms: number;
  /** Peak resident set of the process, from its own resource usage. */
  peakRssMb: number;
}

/** Prints the process's peak RSS as its very last words, whatever way it exits. */
const RSS_PROBE = `data:text/javascript,process.on('exit',()=>process.stderr.write('\\nnavlake-bench-maxrss '+process.resourceUsage().maxRSS+'\\n'))`;

/** Runs a command to completion with stdout into `outFile` (or discarded) and returns its wall time and peak RSS. */
async function run(command: string, args: string[], options: { cwd: string; outFile?: string; node?: boolean }): Promise<Sample> {
  const out = options.outFile ? await open(options.outFile, 'w') : null;
  const argv = options.node ? ['--import', RSS_PROBE, ...args] : args;
  const started = performance.now();
  try {
    const { code, stderr } = await new Promise<{ code: number | null; stderr: string }>((resolve, reject) => {
      const child = spawn(command, argv, {
        cwd: options.cwd,
        stdio: ['ignore', out ? out.fd : 'ignore', 'pipe'],
        env: { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
      });
      let err = '';
      child.stderr?.setEncoding('utf8');
      child.stderr?.on('data', (d: string) => (err += d));
      child.on('error', reject);
      child.on('close', (c) => resolve({ code: c, stderr: err }));
    });
    const ms = performance.now() - started;
    if (code !== 0) throw new Error(`${command} ${args.join(' ')} exited ${code}: ${stderr.slice(-500)}`);
    const kb = Number(/navlake-bench-maxrss (\d+)/.exec(stderr)?.[1] ?? Number.NaN);
    return { ms, peakRssMb: kb / 1024 };
  } finally {
    await out?.close();
  }
}

export interface WholeProcessInputs {
  root: string;
  work: string;
  /** The export a user parses (4 MB, about the upload limit) and one a quarter of its size, to show memory is flat. */
  parseFile: string;
  smallParseFile: string;
  sample: string;
  python: string | null;
  runs: number;
  pandasRuns: number;
}

export interface WholeProcessResult {
  node_ms: number[];
  version_ms: number[];
  parse_ms: number[];
  parse_peak_rss_mb: number[];
  parse_small_peak_rss_mb: number[];
  parse_output_mb: number;
  pandas_ms: number[] | null;
  ingest_ms: number[];
  query_ms: number[];
  report_ms: number[];
  /** The first run of each command after a build, while it compiles the bundle and writes its code cache. */
  first_ingest_ms: number;
  first_query_ms: number;
  first_report_ms: number;
}

/** Runs of ingest, query and report per round: they take a second together, the round's parse and pandas far longer. */
const SHORT_RUNS_PER_ROUND = 3;

/**
 * The CLI as `npx navlake` runs it: bin/navlake.mjs, which uses the compiled dist/ (built here first, as
 * `npm ci` does, unless it is current) when it is current.
 */
export async function benchWholeProcess(inputs: WholeProcessInputs): Promise<WholeProcessResult> {
  const { root, work, runs } = inputs;
  await exec(process.execPath, [join(root, 'bin', 'build-cli.mjs'), '--if-stale'], { cwd: root });
  const navlake = (args: string[], outFile?: string) =>
    run(process.execPath, [join(root, 'bin', 'navlake.mjs'), ...args], { cwd: work, node: true, ...(outFile ? { outFile } : {}) });
  const node = () => run(process.execPath, ['-e', '0'], { cwd: work });
  const out = join(work, 'parse-out.ndjson');

  const result: WholeProcessResult = {
    node_ms: [],
    version_ms: [],
    parse_ms: [],
    parse_peak_rss_mb: [],
    parse_small_peak_rss_mb: [],
    parse_output_mb: 0,
    pandas_ms: inputs.python ? [] : null,
    ingest_ms: [],
    query_ms: [],
    report_ms: [],
    first_ingest_ms: 0,
    first_query_ms: 0,
    first_report_ms: 0,
  };
  const lake = (i: number) => join(work, `whole-lake-${i}`);
  // Every command's first run, without a code cache (as after `npm ci`), is measured apart; the runs after it, as a
  // user's second and later commands, are the figures.
  await rm(join(root, 'dist', '.cache'), { recursive: true, force: true });
  await navlake(['--version']);
  result.first_ingest_ms = (await navlake(['ingest', inputs.sample, '--lake', lake(-1)])).ms;
  result.first_query_ms = (await navlake(['query', 'SELECT count(*) FROM observations', '--lake', lake(-1)])).ms;
  result.first_report_ms = (await navlake(['report', '--lake', lake(-1)])).ms;
  await navlake(['parse', inputs.smallParseFile], out);
  await rm(lake(-1), { recursive: true, force: true });
  for (let i = 0; i < runs; i++) {
    result.node_ms.push((await node()).ms);
    result.version_ms.push((await navlake(['--version'])).ms);
    const parsed = await navlake(['parse', inputs.parseFile], out);
    result.parse_ms.push(parsed.ms);
    result.parse_peak_rss_mb.push(parsed.peakRssMb);
    result.parse_output_mb = (await stat(out)).size / 1048576;
    if (inputs.python && result.pandas_ms && i < inputs.pandasRuns) {
      const peer = await run(inputs.python, [join(root, 'bench', 'pandas_peer.py'), '--ndjson', inputs.parseFile], {
        cwd: work,
        outFile: out,
      });
      result.pandas_ms.push(peer.ms);
    }
    for (let j = 0; j < SHORT_RUNS_PER_ROUND; j++) {
      result.ingest_ms.push((await navlake(['ingest', inputs.sample, '--lake', lake(i)])).ms);
      result.query_ms.push((await navlake(['query', 'SELECT count(*) FROM observations', '--lake', lake(i)])).ms);
      result.report_ms.push((await navlake(['report', '--lake', lake(i)])).ms);
      await rm(lake(i), { recursive: true, force: true });
    }
  }
  // A quarter of the input: peak memory should not follow the input (records stream through; output is not held).
  for (let i = 0; i < Math.min(runs, 3); i++) {
    result.parse_small_peak_rss_mb.push((await navlake(['parse', inputs.smallParseFile], out)).peakRssMb);
  }
  await rm(out, { force: true });
  return result;
}
