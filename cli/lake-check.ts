/**
 * `navlake check`: reads every file of a local lake straight from disk (so it works on a lake the server cannot
 * start on) and reports what is wrong: unreadable objects, rows that break the replacement rules, rows no ingestion
 * record accounts for, and leftovers of a killed process. It changes nothing; serve/ingest heal leftovers at start.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { LOCAL_LAKE_BUCKET, LOCAL_RAW_BUCKET } from '../lambdas/lake/layout.ts';
import type { StoredObservation } from '../lambdas/lake/observation-file.ts';
import { uploadRank } from '../lambdas/lake/upload-rank.ts';
import { isLakeDir } from './lake-dir.ts';
import { dataColumns, type Ingestion, OBSERVATIONS_TABLE } from '../lambdas/schema/columns.ts';
import { REFERENCE_OBJECTS } from '../lambdas/regions/reference-objects.ts';

/** The reference tables' objects, written at every start: checked against what this version ships, not as data. */
const REFERENCE = new Map(REFERENCE_OBJECTS.map((o) => [o.key, o.body]));

const OBJECT_SUFFIX = '._S3rver_object';
const METADATA_SUFFIX = '._S3rver_metadata.json';
const LEFTOVER = /\.(partial|tmp)$/;
const PARTITION_KEY = /^observations\/year=(\d{4})\/month=(\d{2})\/[^/]+\.ndjson\.gz$/;

export interface CheckReport {
  /** Data objects: observation partitions, ingestion records, rejection reports (not the reference tables). */
  objects: number;
  /** Reference table objects found (`regions`, `region_groups`). */
  reference: number;
  rows: number;
  ingestions: number;
  problems: string[];
}

async function* walk(dir: string): AsyncGenerator<string> {
  let entries: import('node:fs').Dirent[];
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch {
    return;
  }
  for (const e of entries) {
    const full = join(dir, e.name);
    if (e.isDirectory()) yield* walk(full);
    else yield full;
  }
}

function keyOf(bucketDir: string, file: string): string {
  return relative(bucketDir, file.slice(0, -OBJECT_SUFFIX.length)).split(sep).join('/');
}

export async function checkLake(lakeDir: string): Promise<CheckReport> {
  const report: CheckReport = { objects: 0, reference: 0, rows: 0, ingestions: 0, problems: [] };
  const seen = new Set<string>();
  const problem = (s: string) => report.problems.push(s);
  if (!(await isLakeDir(lakeDir))) {
    problem(`${lakeDir} is not a navlake lake (no s3/ directory)`);
    return report;
  }

  const lakeBucket = join(lakeDir, 's3', LOCAL_LAKE_BUCKET);
  const partitions = new Map<string, StoredObservation[]>();
  const ingestions: Ingestion[] = [];
  for (const bucket of [lakeBucket, join(lakeDir, 's3', LOCAL_RAW_BUCKET)]) {
    for await (const file of walk(bucket)) {
      const shown = relative(lakeDir, file);
      if (LEFTOVER.test(file)) {
        problem(`${shown}: left over from an interrupted write (removed at the next start)`);
        continue;
      }
      if (file.endsWith(METADATA_SUFFIX)) {
        try {
          JSON.parse(await readFile(file, 'utf8'));
        } catch {
          problem(`${shown}: object metadata is not readable JSON (healed at the next start)`);
        }
        continue;
      }
      if (!file.endsWith(OBJECT_SUFFIX) || bucket !== lakeBucket) continue;
      const key = keyOf(bucket, file);
      const bytes = await readFile(file);
      const shipped = REFERENCE.get(key);
      if (shipped !== undefined) {
        seen.add(key);
        if (bytes.toString('utf8') !== shipped) {
          problem(`${key}: differs from the region table this version ships (rewritten at the next start)`);
        }
        continue;
      }
      report.objects++;
      if (key.startsWith('observations/')) {
        const rows = readPartition(key, bytes, problem);
        if (rows) partitions.set(key, rows);
      } else if (key.startsWith('ingestions/')) {
        try {
          ingestions.push(JSON.parse(bytes.toString('utf8')) as Ingestion);
        } catch {
          problem(`${key}: not readable JSON`);
        }
      }
    }
  }
  report.ingestions = ingestions.length;
  for (const rows of partitions.values()) report.rows += rows.length;
  checkAgainstIngestions(partitions, ingestions, problem);
  report.reference = seen.size;
  for (const key of REFERENCE.keys()) {
    if (!seen.has(key)) problem(`${key}: missing, so the region tables read empty (written at the next start of serve or ingest)`);
  }
  for await (const file of walk(join(lakeDir, 'pending'))) {
    problem(`${relative(lakeDir, file)}: an upload not processed yet (processed at the next start of serve or ingest)`);
  }
  return report;
}

const REQUIRED = dataColumns(OBSERVATIONS_TABLE).filter((c) => !c.nullable);

function readPartition(key: string, bytes: Buffer, problem: (s: string) => void): StoredObservation[] | null {
  const m = PARTITION_KEY.exec(key);
  if (!m) {
    problem(`${key}: not a partition key (observations/year=YYYY/month=MM/<dataset>.ndjson.gz)`);
    return null;
  }
  let text: string;
  try {
    text = gunzipSync(bytes).toString('utf8');
  } catch (e) {
    problem(`${key}: not readable gzip (${e instanceof Error ? e.message : String(e)})`);
    return null;
  }
  const period = `${m[1]}-${m[2]}`;
  const rows: StoredObservation[] = [];
  const lines = text.split('\n');
  if (lines.at(-1) === '') lines.pop();
  for (const [i, line] of lines.entries()) {
    let row: StoredObservation;
    try {
      row = JSON.parse(line) as StoredObservation;
    } catch {
      problem(`${key}:${i + 1}: not a JSON row`);
      continue;
    }
    const missing = REQUIRED.filter((c) => row[c.name as keyof StoredObservation] == null).map((c) => c.name);
    if (missing.length > 0) problem(`${key}:${i + 1}: no ${missing.join(', ')}`);
    if (row.period !== period) problem(`${key}:${i + 1}: period ${row.period} in the partition of ${period}`);
    rows.push(row);
  }
  const cells = new Set<string>();
  const sectionRanks = new Map<string, string | null>();
  for (const [i, r] of rows.entries()) {
    const section = `${r.main_group} / ${r.measure_group}`;
    const cell = `${section} / ${r.region}`;
    if (cells.has(cell)) problem(`${key}:${i + 1}: a second row for ${cell}`);
    cells.add(cell);
    const rank = sectionRanks.get(section);
    if (rank === undefined) sectionRanks.set(section, r.section_rank ?? null);
    else if (rank !== (r.section_rank ?? null)) problem(`${key}:${i + 1}: rows of ${section} disagree on section_rank`);
    if (r.section_rank != null && (r.upload_rank ?? '') < r.section_rank) {
      problem(`${key}:${i + 1}: ${cell} is older than its section's newest complete copy and should be gone`);
    }
  }
  return rows;
}

/** Every row comes from an upload with an ingestion record, and no upload has more rows than it wrote. */
function checkAgainstIngestions(
  partitions: Map<string, StoredObservation[]>,
  ingestions: readonly Ingestion[],
  problem: (s: string) => void,
): void {
  const written = new Map<string, number>();
  for (const i of ingestions) {
    if (i.status === 'rejected' || !i.source_vintage) continue;
    const rank = uploadRank({
      vintage: i.source_vintage,
      sourceKey: i.source_key,
      eventTime: i.event_time ?? '',
      sequencer: i.source_sequencer ?? '',
    });
    for (const p of i.partitions)
      written.set(`${rank}\u0000${p.period}`, Math.max(written.get(`${rank}\u0000${p.period}`) ?? 0, p.written));
  }
  for (const [key, rows] of partitions) {
    const held = new Map<string, { n: number; source: string; period: string }>();
    for (const r of rows) {
      const id = `${r.upload_rank}\u0000${r.period}`;
      const h = held.get(id) ?? { n: 0, source: r.source_key, period: r.period };
      h.n++;
      held.set(id, h);
    }
    for (const [id, h] of held) {
      const claimed = written.get(id);
      if (claimed === undefined) {
        problem(`${key}: ${h.n} rows of ${h.source} that no ingestion record accounts for (interrupted? it is replayed at the next start)`);
      } else if (h.n > claimed) {
        problem(`${key}: ${h.n} rows of ${h.source} for ${h.period}, but its ingestion record says it wrote ${claimed}`);
      }
    }
  }
}
