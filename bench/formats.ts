/**
 * What the spreadsheet front-ends cost: the Lambda bundle with and without them, cold starts of the deployed bundle
 * on a text and on a workbook upload (and of the bundle without the front-ends on text, the path as it was), and
 * the parse rate of the 2019 export as .txt, .xlsx and .csv. Prints a table and, last, one line of JSON.
 *   node --import tsx bench/formats.ts [--runs 7]
 */
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import type { Metafile, Plugin } from 'esbuild';
import { startLocalS3 } from '../cli/local-s3.ts';
import { parseBytes } from '../lambdas/parser/index.ts';
import { csvFromText, xlsxFromText } from '../test/formats/make-fixtures.ts';
import { generateExport } from './generate-export.ts';
import { bundleHandler, coldStart, HERE, ROOT, type Stat, stat3 } from './harness.ts';

const FRONT_ENDS = join(ROOT, 'lambdas', 'parser', 'front-ends');

// ---- bundles --------------------------------------------------------------------------------------------------------

/** Replaces a module of the parser with a stand-in, to measure the bundle without it. */
function stub(file: string, contents: string): Plugin {
  return {
    name: `stub-${file}`,
    setup(b) {
      b.onLoad({ filter: new RegExp(`front-ends[\\\\/]${file.replace('.', '\\.')}$`) }, () => ({
        contents,
        loader: 'ts',
        resolveDir: FRONT_ENDS,
      }));
    },
  };
}

/** Without the .xlsx reader (xlsx.ts and zip.ts): a workbook would be refused; delimited text still read. */
const WITHOUT_XLSX = stub(
  'xlsx.ts',
  `export const WORKBOOK_LIMITS = { maxEntries: 0, maxUncompressedBytes: 0, maxSharedStrings: 0 };
   export function workbookLines(): never { throw new Error('no workbook reader in this build'); }`,
);

/** The text path as it was before the front-ends: FormatParser is the ExportParser itself. */
const TEXT_ONLY = stub(
  'format-parser.ts',
  `import { ExportParser } from '../export-parser.ts';
   export const MAX_WORKBOOK_BYTES = 0;
   export class FormatParser extends ExportParser {}`,
);

/** Minified bytes each front-end file contributes to the bundle. */
function frontEndBytes(metafile: Metafile): Record<string, number> {
  const out: Record<string, number> = {};
  for (const output of Object.values(metafile.outputs)) {
    for (const [input, info] of Object.entries(output.inputs)) {
      const m = /front-ends\/(.+)$/.exec(input);
      if (m) out[m[1] as string] = info.bytesInOutput;
    }
  }
  return out;
}

// ---- cold starts ----------------------------------------------------------------------------------------------------

interface ColdCase {
  name: string;
  bundle: string;
  body: Uint8Array;
  ext: string;
}

/** Cold starts of each case, interleaved run by run so that all see the same machine state. */
async function coldStarts(
  work: string,
  cases: readonly ColdCase[],
  runs: number,
): Promise<Record<string, { total_ms: Stat; load_ms: Stat }>> {
  const server = await startLocalS3({ lakeDir: join(work, 'cold'), port: 0, silent: true });
  const totals = new Map<string, number[]>(cases.map((c) => [c.name, []]));
  const loads = new Map<string, number[]>(cases.map((c) => [c.name, []]));
  let sequencer = 0;
  try {
    for (let i = 0; i < runs; i++) {
      for (const c of cases) {
        const r = await coldStart(server, c.bundle, `cold/${c.name} ${i}${c.ext}`, c.body, ++sequencer);
        totals.get(c.name)?.push(r.total_ms);
        loads.get(c.name)?.push(r.load_ms);
      }
    }
  } finally {
    await server.close();
  }
  return Object.fromEntries(
    cases.map((c) => [c.name, { total_ms: stat3(totals.get(c.name) ?? []), load_ms: stat3(loads.get(c.name) ?? []) }]),
  );
}

// ---- parse rates ----------------------------------------------------------------------------------------------------

/** Records per second of parseBytes over `bytes`, one sample per batch of parses (the seed parses in milliseconds). */
function parseRate(bytes: Uint8Array, file: string, runs: number): Stat {
  const perBatch = 20;
  const samples: number[] = [];
  let records = 0;
  for (let i = 0; i < 3; i++) parseBytes(bytes, { file });
  for (let run = 0; run < runs; run++) {
    const started = performance.now();
    for (let i = 0; i < perBatch; i++) records = parseBytes(bytes, { file }).records.length;
    samples.push((records * perBatch) / ((performance.now() - started) / 1000));
  }
  return stat3(samples);
}

// ---- run ------------------------------------------------------------------------------------------------------------

export type FormatsResult = Awaited<ReturnType<typeof benchFormats>>;

/** Every figure of this file; `lines` is the table for a person. */
export async function benchFormats(work: string, runs: number) {
  const seed = readFileSync(join(ROOT, 'fixtures', 'nav-tiltak-fylke-2019.txt'));
  const seedText = seed.toString('utf8');
  const xlsx = xlsxFromText(seedText);
  const csv = csvFromText(seedText, { delimiter: ';', encoding: 'windows-1252' });

  const full = await bundleHandler(join(HERE, 'out', 'formats', 'full'));
  const noXlsx = await bundleHandler(join(HERE, 'out', 'formats', 'without-xlsx'), [WITHOUT_XLSX]);
  const textOnly = await bundleHandler(join(HERE, 'out', 'formats', 'text-only'), [TEXT_ONLY]);

  // The cold-start upload bench/run.ts uses (one section, one month), as text and as a workbook.
  const small = generateExport({ seed: 5, years: [2019], sectionsPerYear: 1, lastYearMonths: 1 });
  const smallText = typeof small === 'string' ? small : Buffer.from(small).toString('utf8');
  const cold = await coldStarts(
    work,
    [
      { name: 'text_only_bundle_txt', bundle: textOnly.file, body: Buffer.from(smallText), ext: '.txt' },
      { name: 'full_bundle_txt', bundle: full.file, body: Buffer.from(smallText), ext: '.txt' },
      { name: 'full_bundle_xlsx', bundle: full.file, body: xlsxFromText(smallText), ext: '.xlsx' },
    ],
    runs,
  );

  const rates = {
    txt: parseRate(seed, 'seed.txt', runs),
    xlsx: parseRate(xlsx, 'seed.xlsx', runs),
    csv: parseRate(csv, 'seed.csv', runs),
  };

  const results = {
    bundle_bytes: { full: full.bytes, without_xlsx: noXlsx.bytes, text_only: textOnly.bytes },
    front_end_bytes: frontEndBytes(full.metafile),
    cold_start_ms: Object.fromEntries(Object.entries(cold).map(([k, v]) => [k, v.total_ms])),
    load_ms: Object.fromEntries(Object.entries(cold).map(([k, v]) => [k, v.load_ms])),
    parse_records_per_s: rates,
    inputs_bytes: { txt: seed.length, xlsx: xlsx.length, csv: csv.length },
  };
  const kb = (n: number) => `${(n / 1024).toFixed(1)} KB`;
  const ms = (s: Stat) => `${s.median.toFixed(1)} ms (min ${s.min.toFixed(1)}, max ${s.max.toFixed(1)}, ${s.runs} runs)`;
  const rate = (s: Stat) => `${Math.round(s.median).toLocaleString('en')} records/s (min ${Math.round(s.min).toLocaleString('en')})`;
  const lines = [
    `bundle, deployed (all front-ends)   ${kb(full.bytes)}`,
    `bundle, without the .xlsx reader     ${kb(noXlsx.bytes)}  (the reader adds ${kb(full.bytes - noXlsx.bytes)})`,
    `bundle, text path only (as before)   ${kb(textOnly.bytes)}  (all front-ends add ${kb(full.bytes - textOnly.bytes)})`,
    `front-end files in the bundle        ${Object.entries(results.front_end_bytes)
      .map(([f, b]) => `${f} ${b}`)
      .join(', ')} bytes`,
    `cold start, text-only bundle, .txt   ${ms(cold.text_only_bundle_txt?.total_ms as Stat)}`,
    `cold start, deployed bundle, .txt    ${ms(cold.full_bundle_txt?.total_ms as Stat)}`,
    `cold start, deployed bundle, .xlsx   ${ms(cold.full_bundle_xlsx?.total_ms as Stat)}`,
    `parse 2019 export, .txt  (${kb(seed.length)})   ${rate(rates.txt)}`,
    `parse 2019 export, .xlsx (${kb(xlsx.length)})   ${rate(rates.xlsx)}`,
    `parse 2019 export, .csv  (${kb(csv.length)})   ${rate(rates.csv)}`,
  ];
  return { results, lines };
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const { values } = parseArgs({ options: { runs: { type: 'string', default: '7' } } });
  const work = await mkdtemp(join(tmpdir(), 'navlake-bench-formats-'));
  try {
    const { results, lines } = await benchFormats(work, Math.max(5, Number(values.runs)));
    process.stdout.write(`${lines.join('\n')}\n${JSON.stringify(results)}\n`);
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}
