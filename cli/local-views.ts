/**
 * DuckDB views over the local lake's files, derived from the schema module: `observations` (year and month from the
 * partition paths, so filters on them skip files), `ingestions`, and the reference tables `regions` and
 * `region_groups` (written into the lake by the embedded lake's start, as the stack deploys them on AWS). The files are read straight from the embedded S3
 * server's storage, because DuckDB's S3 support (httpfs) is not available offline. Each view reads exactly the objects
 * Athena would read for the same keys on S3 (athenaReads), listed when the view is created.
 */
import { type Dirent, existsSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { LOCAL_LAKE_BUCKET } from '../lambdas/lake/layout.ts';
import {
  INGESTIONS_TABLE,
  OBSERVATIONS_TABLE,
  REGION_GROUPS_TABLE,
  REGIONS_TABLE,
  dataColumns,
  duckdbType,
  partitionColumns,
  type TableDef,
} from '../lambdas/schema/columns.ts';
import { type IntegerProjection, isProjectedValue, observationsProjection } from '../lib/partition-projection.ts';

/**
 * s3rver keeps each object's bytes at `<bucket>/<key>._S3rver_object`. Only files ending in it are objects: the store's
 * temporary files (`….partial`, `….tmp`) and metadata files end otherwise, so no view ever reads them.
 */
export const OBJECT_SUFFIX = '._S3rver_object';

export function lakeBucketDir(lakeDir: string): string {
  return join(resolve(lakeDir), 's3', LOCAL_LAKE_BUCKET);
}

/**
 * Whether Athena reads the object `key` (a full lake key) as part of `table`, as the Glue table in lib/query-layer.ts
 * defines it:
 * - the key is below the table location, and is a file (not a `…/` folder marker);
 * - no path segment below the location starts with `_` or `.`: Hive and Trino (Athena's engine) skip such files and
 *   folders as hidden, at any depth (Trino's HiveFileIterator), which is how `_SUCCESS` markers stay out of tables;
 * - for a partitioned table, the key is below a prefix the partition projection generates: `year=2019/month=01/`,
 *   keys in the table's order, values in range and formatted as projected (never `month=1`), then at least one more
 *   segment (files in sub-folders of a partition are read too).
 */
export function athenaReads(
  table: TableDef,
  key: string,
  projection: Readonly<Record<string, IntegerProjection>> = observationsProjection(),
): boolean {
  if (!key.startsWith(table.prefix)) return false;
  const segments = key.slice(table.prefix.length).split('/');
  if (segments.at(-1) === '') return false;
  if (segments.some((s) => s.startsWith('_') || s.startsWith('.'))) return false;
  const keys = partitionColumns(table);
  if (segments.length <= keys.length) return false;
  return keys.every((column, i) => {
    const projected = projection[column.name];
    if (projected === undefined) throw new Error(`No partition projection for ${table.name}.${column.name}`);
    const segment = segments[i] ?? '';
    const name = `${column.name}=`;
    return segment.startsWith(name) && isProjectedValue(projected, segment.slice(name.length));
  });
}

interface ViewSource {
  table: TableDef;
  compression: 'gzip' | 'uncompressed';
}

const SOURCES: readonly ViewSource[] = [
  { table: OBSERVATIONS_TABLE, compression: 'gzip' },
  { table: INGESTIONS_TABLE, compression: 'uncompressed' },
  { table: REGIONS_TABLE, compression: 'uncompressed' },
  { table: REGION_GROUPS_TABLE, compression: 'uncompressed' },
];

/** An SQL string literal. */
export function quote(s: string): string {
  return `'${s.replace(/'/g, "''")}'`;
}

function ident(s: string): string {
  return `"${s.replace(/"/g, '""')}"`;
}

function structLiteral(entries: Array<[string, string]>): string {
  return `{${entries.map(([k, v]) => `${quote(k)}: ${quote(v)}`).join(', ')}}`;
}

/** Keys of the objects stored below `prefix` in the local bucket directory, sorted. */
export function storedKeys(bucketDir: string, prefix: string): string[] {
  const keys: string[] = [];
  const walk = (dir: string, keyPrefix: string): void => {
    let entries: Dirent[];
    try {
      entries = readdirSync(dir, { withFileTypes: true });
    } catch (e) {
      // A folder removed while listing holds no object any more.
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw e;
    }
    for (const entry of entries) {
      if (entry.isDirectory()) walk(join(dir, entry.name), `${keyPrefix}${entry.name}/`);
      else if (entry.isFile() && entry.name.endsWith(OBJECT_SUFFIX)) keys.push(`${keyPrefix}${entry.name.slice(0, -OBJECT_SUFFIX.length)}`);
    }
  };
  const root = join(bucketDir, prefix);
  if (existsSync(root)) walk(root, prefix);
  return keys.sort();
}

/** The files a view of `table` reads: the stored objects Athena would read. */
export function viewFiles(table: TableDef, bucketDir: string): string[] {
  return storedKeys(bucketDir, table.prefix)
    .filter((key) => athenaReads(table, key))
    .map((key) => join(bucketDir, `${key}${OBJECT_SUFFIX}`).replace(/\\/g, '/'));
}

export function viewSql(source: ViewSource, bucketDir: string, schema?: string): string {
  const { table } = source;
  const name = schema ? `${ident(schema)}.${ident(table.name)}` : ident(table.name);
  const select = table.columns.map((c) => ident(c.name)).join(', ');
  const files = viewFiles(table, bucketDir);
  // DuckDB refuses to bind read_json over an empty list; the empty view keeps the same column types.
  if (files.length === 0) {
    const empty = table.columns.map((c) => `CAST(NULL AS ${duckdbType(c)}) AS ${ident(c.name)}`).join(', ');
    return `CREATE OR REPLACE VIEW ${name} AS SELECT ${empty} WHERE false`;
  }
  const columns = structLiteral(dataColumns(table).map((c) => [c.name, duckdbType(c)]));
  const partitions = partitionColumns(table);
  const hive =
    partitions.length > 0
      ? `, hive_partitioning = true, hive_types = ${structLiteral(partitions.map((c) => [c.name, duckdbType(c)]))}`
      : ', hive_partitioning = false';
  return (
    `CREATE OR REPLACE VIEW ${name} AS SELECT ${select} FROM read_json([${files.map(quote).join(', ')}], ` +
    `format = 'newline_delimited', compression = ${quote(source.compression)}, columns = ${columns}${hive})`
  );
}

/** The statements that (re)create every view for the lake in `lakeDir`. */
export function viewStatements(lakeDir: string, schema?: string): string[] {
  const bucketDir = lakeBucketDir(lakeDir);
  return [...SOURCES.map((s) => viewSql(s, bucketDir, schema)), ...sharedFunctions(schema)];
}

/**
 * Athena's functions the lake's SQL uses and DuckDB lacks, as macros: timestamps are stored as ISO-8601 strings, and
 * `from_iso8601_timestamp(ingested_at)` then reads the same on both engines (timestamp with time zone).
 */
export function sharedFunctions(schema?: string): string[] {
  const prefix = schema ? `${ident(schema)}.` : '';
  return [`CREATE OR REPLACE MACRO ${prefix}from_iso8601_timestamp(s) AS CAST(s AS TIMESTAMPTZ)`];
}
