/**
 * DuckDB views over the local lake's files, derived from the schema module: `observations` (year and month from the
 * partition paths, so filters on them skip files) and `ingestions`. The files are read straight from the embedded S3
 * server's storage, because DuckDB's S3 support (httpfs) is not available offline.
 */
import { existsSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { LOCAL_LAKE_BUCKET } from '../lambdas/lake/layout.ts';
import {
  INGESTIONS_TABLE,
  OBSERVATIONS_TABLE,
  dataColumns,
  duckdbType,
  partitionColumns,
  type TableDef,
} from '../lambdas/schema/columns.ts';

/** s3rver keeps each object's bytes at `<bucket>/<key>._S3rver_object`. */
const OBJECT_SUFFIX = '._S3rver_object';

export function lakeBucketDir(lakeDir: string): string {
  return join(resolve(lakeDir), 's3', LOCAL_LAKE_BUCKET);
}

interface ViewSource {
  table: TableDef;
  /** Glob relative to the lake bucket directory. */
  glob: string;
  compression: 'gzip' | 'uncompressed';
}

const SOURCES: readonly ViewSource[] = [
  { table: OBSERVATIONS_TABLE, glob: `observations/year=*/month=*/*${OBJECT_SUFFIX}`, compression: 'gzip' },
  { table: INGESTIONS_TABLE, glob: `ingestions/*/*${OBJECT_SUFFIX}`, compression: 'uncompressed' },
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

/** Whether any file matches: DuckDB refuses to bind read_json over an empty glob. */
function hasFiles(bucketDir: string, glob: string): boolean {
  const parts = glob.split('/');
  const walk = (dir: string, i: number): boolean => {
    const part = parts[i];
    if (part === undefined || !existsSync(dir)) return false;
    const re = new RegExp(`^${part.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*')}$`);
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      if (!re.test(entry.name)) continue;
      if (i === parts.length - 1 ? entry.isFile() : entry.isDirectory() && walk(join(dir, entry.name), i + 1)) return true;
    }
    return false;
  };
  return walk(bucketDir, 0);
}

export function viewSql(source: ViewSource, bucketDir: string, schema?: string): string {
  const { table } = source;
  const name = schema ? `${ident(schema)}.${ident(table.name)}` : ident(table.name);
  const select = table.columns.map((c) => ident(c.name)).join(', ');
  if (!hasFiles(bucketDir, source.glob)) {
    const empty = table.columns.map((c) => `CAST(NULL AS ${duckdbType(c)}) AS ${ident(c.name)}`).join(', ');
    return `CREATE OR REPLACE VIEW ${name} AS SELECT ${empty} WHERE false`;
  }
  const columns = structLiteral(dataColumns(table).map((c) => [c.name, duckdbType(c)]));
  const partitions = partitionColumns(table);
  const hive =
    partitions.length > 0
      ? `, hive_partitioning = true, hive_types = ${structLiteral(partitions.map((c) => [c.name, duckdbType(c)]))}`
      : ', hive_partitioning = false';
  const path = join(bucketDir, source.glob).replace(/\\/g, '/');
  return (
    `CREATE OR REPLACE VIEW ${name} AS SELECT ${select} FROM read_json(${quote(path)}, ` +
    `format = 'newline_delimited', compression = ${quote(source.compression)}, columns = ${columns}${hive})`
  );
}

/** The statements that (re)create every view for the lake in `lakeDir`. */
export function viewStatements(lakeDir: string, schema?: string): string[] {
  const bucketDir = lakeBucketDir(lakeDir);
  return SOURCES.map((s) => viewSql(s, bucketDir, schema));
}
