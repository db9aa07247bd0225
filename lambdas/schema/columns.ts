/**
 * The one place the lake's tables are declared. The parser's record type, the NDJSON writer, the Glue tables, the
 * DuckDB views and the README's schema table are all derived from these lists, so a column is added here or nowhere.
 */

/** Logical column kinds; each maps to a TypeScript, Glue/Athena and DuckDB type in COLUMN_KINDS. */
export const COLUMN_KINDS = {
  string: { ts: 'string', glue: 'string', duckdb: 'VARCHAR' },
  integer: { ts: 'number', glue: 'int', duckdb: 'INTEGER' },
  bigint: { ts: 'number', glue: 'bigint', duckdb: 'BIGINT' },
  boolean: { ts: 'boolean', glue: 'boolean', duckdb: 'BOOLEAN' },
  string_array: { ts: 'string[]', glue: 'array<string>', duckdb: 'VARCHAR[]' },
  partition_array: {
    ts: 'PartitionOutcome[]',
    glue: 'array<struct<period:string,records:int,written:int,outcome:string>>',
    duckdb: 'STRUCT(period VARCHAR, records INTEGER, written INTEGER, outcome VARCHAR)[]',
  },
} as const;

export type ColumnKind = keyof typeof COLUMN_KINDS;

export interface ColumnDef {
  readonly name: string;
  readonly kind: ColumnKind;
  readonly nullable: boolean;
  /** Partition keys live in the object path (`year=2019/month=01`), not in the JSON rows. */
  readonly partitionKey?: boolean;
  readonly description: string;
}

/** What happened to one (dataset, year, month) partition during one ingestion. */
export interface PartitionOutcome {
  period: string;
  /** Rows the upload holds for this month. */
  records: number;
  /** Of those, the rows the lake holds after this ingestion (the rest had a newer copy already). */
  written: number;
  outcome: PartitionOutcomeKind;
}

/** `written`: every row of the upload is in the lake; `partly_written`: some were kept newer; `kept_newer`: none. */
export type PartitionOutcomeKind = 'written' | 'partly_written' | 'kept_newer';

interface KindTs {
  string: string;
  integer: number;
  bigint: number;
  boolean: boolean;
  string_array: string[];
  partition_array: PartitionOutcome[];
}

/** The row type of a table, derived from its column list. */
export type RowOf<C extends readonly ColumnDef[]> = {
  -readonly [K in C[number] as K['name']]: K['nullable'] extends true ? KindTs[K['kind']] | null : KindTs[K['kind']];
};

export const OBSERVATION_COLUMNS = [
  {
    name: 'dataset',
    kind: 'string',
    nullable: false,
    description: 'ASCII slug of the table title (æ→ae, ø→o, å→a); stable across uploads of the same table.',
  },
  { name: 'table_title', kind: 'string', nullable: false, description: 'The table title as printed.' },
  {
    name: 'breakdown',
    kind: 'string',
    nullable: false,
    description: 'The section\'s breakdown line as printed, e.g. "Fylke og tiltaksgruppe".',
  },
  {
    name: 'main_group',
    kind: 'string',
    nullable: false,
    description: '`I alt` (section without a main group), `Nedsatt arbeidsevne`, `Arbeidssøkere` or `Andre`.',
  },
  {
    name: 'measure_group',
    kind: 'string',
    nullable: false,
    description: 'Measure group in sentence case, e.g. `Opplæring`, `Jobbskaping og egenetablering`.',
  },
  {
    name: 'region',
    kind: 'string',
    nullable: false,
    description: 'County name as printed without its Sami form; `I alt` for the total row; `Øvrige områder`, `Ukjent`.',
  },
  {
    name: 'region_code',
    kind: 'string',
    nullable: true,
    description: 'Two-digit county number valid in that year; null for I alt, Øvrige områder, Ukjent and unknown names.',
  },
  { name: 'year', kind: 'integer', nullable: false, partitionKey: true, description: 'Calendar year of the value.' },
  { name: 'month', kind: 'integer', nullable: false, partitionKey: true, description: 'Month of the value, 1-12.' },
  { name: 'period', kind: 'string', nullable: false, description: '`YYYY-MM` of the value.' },
  {
    name: 'value',
    kind: 'integer',
    nullable: true,
    description: 'Number of participants; null when NAV suppressed it.',
  },
  {
    name: 'suppressed',
    kind: 'boolean',
    nullable: false,
    description: 'True where the export has `*` (a value under 4, Statistikkloven § 2-6).',
  },
  {
    name: 'source_key',
    kind: 'string',
    nullable: false,
    description: 'Key of the uploaded object (the file name for `navlake parse`).',
  },
  {
    name: 'source_vintage',
    kind: 'string',
    nullable: false,
    description: '`YYYY-MM`: the last month any section of the export covers.',
  },
  {
    name: 'ingested_at',
    kind: 'string',
    nullable: true,
    description: 'ISO-8601 UTC time of ingestion; null from `navlake parse`.',
  },
  {
    name: 'upload_rank',
    kind: 'string',
    nullable: true,
    description:
      'Where the row\'s upload stands in "latest wins" order (vintage, upload time, S3 sequencer, key hash, as one sortable string): of two copies of a value the larger rank is kept. Null from `navlake parse`.',
  },
  {
    name: 'section_rank',
    kind: 'string',
    nullable: true,
    description:
      "The `upload_rank` of the newest complete copy of this row's section (main group, measure group) and month; rows ranked below it were replaced by it. Null while only cut-off copies arrived.",
  },
] as const satisfies readonly ColumnDef[];

export type Observation = RowOf<typeof OBSERVATION_COLUMNS>;
export type ObservationColumn = keyof Observation;

export const INGESTION_COLUMNS = [
  { name: 'ingestion_id', kind: 'string', nullable: false, description: 'Unique id of this processing of an upload.' },
  { name: 'source_key', kind: 'string', nullable: false, description: 'Key of the uploaded object in the raw bucket.' },
  {
    name: 'source_sequencer',
    kind: 'string',
    nullable: true,
    description: 'S3 event sequencer of the upload (orders uploads of the same key).',
  },
  { name: 'event_time', kind: 'string', nullable: true, description: 'ISO-8601 time S3 reported the upload.' },
  {
    name: 'dataset',
    kind: 'string',
    nullable: true,
    description: 'Dataset slug of the export; null when the file was rejected before its title was read.',
  },
  {
    name: 'status',
    kind: 'string',
    nullable: false,
    description: '`accepted` (at least one value written), `superseded` (every value had a newer copy) or `rejected`.',
  },
  { name: 'source_vintage', kind: 'string', nullable: true, description: '`YYYY-MM` the export covers up to.' },
  { name: 'records', kind: 'integer', nullable: false, description: 'Records parsed from the upload.' },
  {
    name: 'records_written',
    kind: 'integer',
    nullable: false,
    description: 'Records of this upload that the lake holds after it (the rest had a newer copy).',
  },
  {
    name: 'partitions',
    kind: 'partition_array',
    nullable: false,
    description: 'Per month: period, records, how many were written, and outcome (`written`, `partly_written` or `kept_newer`).',
  },
  { name: 'warnings', kind: 'string_array', nullable: false, description: 'Parser warnings, one line each.' },
  { name: 'error_code', kind: 'string', nullable: true, description: 'Error code when rejected, e.g. `BAD_NUMBER`.' },
  { name: 'error_message', kind: 'string', nullable: true, description: 'Error message when rejected.' },
  { name: 'error_line', kind: 'integer', nullable: true, description: 'Line of the error in the upload, when known.' },
  { name: 'ingested_at', kind: 'string', nullable: false, description: 'ISO-8601 UTC time of processing.' },
] as const satisfies readonly ColumnDef[];

export type Ingestion = RowOf<typeof INGESTION_COLUMNS>;

/** Periods of the reference tables are `YYYY-MM`, so `period BETWEEN valid_from AND coalesce(valid_to, '9999-12')` joins. */
export const REGION_COLUMNS = [
  {
    name: 'region_code',
    kind: 'string',
    nullable: true,
    description: "Two-digit county number (SSB's classification 104); null for `Øvrige områder` and `Ukjent`.",
  },
  {
    name: 'name',
    kind: 'string',
    nullable: false,
    description: 'Norwegian name, as `observations.region` carries it (the parser assigns codes from this table).',
  },
  {
    name: 'sami_name',
    kind: 'string',
    nullable: true,
    description: 'Sami name in the official name, e.g. `Romsa`; null where none.',
  },
  {
    name: 'official_name',
    kind: 'string',
    nullable: false,
    description: 'The name as SSB lists it, Sami and Kven forms included, e.g. `Troms - Romsa - Tromssa`.',
  },
  {
    name: 'kind',
    kind: 'string',
    nullable: false,
    description: '`county`, or `other` for the rows NAV prints that are no county (`Øvrige områder`, `Ukjent`).',
  },
  { name: 'valid_from', kind: 'string', nullable: false, description: '`YYYY-MM`: first month the code has this name.' },
  {
    name: 'valid_to',
    kind: 'string',
    nullable: true,
    description: '`YYYY-MM`: last month it is valid; null while current.',
  },
] as const satisfies readonly ColumnDef[];

export type RegionRow = RowOf<typeof REGION_COLUMNS>;

export const REGION_GROUP_COLUMNS = [
  {
    name: 'region_code',
    kind: 'string',
    nullable: true,
    description: 'County number, as in `regions`; null for `Øvrige områder` and `Ukjent` (join those on `region`).',
  },
  { name: 'region', kind: 'string', nullable: false, description: 'Norwegian name, as `observations.region` carries it.' },
  { name: 'valid_from', kind: 'string', nullable: false, description: '`YYYY-MM`, as in `regions`.' },
  { name: 'valid_to', kind: 'string', nullable: true, description: '`YYYY-MM`, as in `regions`; null while current.' },
  {
    name: 'region_group',
    kind: 'string',
    nullable: false,
    description: 'The area whose series continues across the county reforms, e.g. `Viken` = 01+02+06, then 30, then 31+32+33.',
  },
  {
    name: 'exact',
    kind: 'boolean',
    nullable: false,
    description: "True where the group's border never moved; false where municipalities changed county at a reform.",
  },
  {
    name: 'exact_group',
    kind: 'string',
    nullable: false,
    description: 'The smallest union of groups whose border never moved, e.g. `Nord-Norge` for Nordland and Troms og Finnmark.',
  },
] as const satisfies readonly ColumnDef[];

export type RegionGroupRow = RowOf<typeof REGION_GROUP_COLUMNS>;

export interface TableDef {
  readonly name: string;
  readonly description: string;
  /** Lake prefix under which the table's objects live (ends in `/`). */
  readonly prefix: string;
  readonly columns: readonly ColumnDef[];
}

export const OBSERVATIONS_TABLE = {
  name: 'observations',
  description: 'One row per value: dataset, section, region and month. Partitioned by year and month.',
  prefix: 'observations/',
  columns: OBSERVATION_COLUMNS,
} as const satisfies TableDef;

export const INGESTIONS_TABLE = {
  name: 'ingestions',
  description: 'One row per processed upload: what it was, what became of it, and why.',
  prefix: 'ingestions/',
  columns: INGESTION_COLUMNS,
} as const satisfies TableDef;

/** Reference data shipped with the code (lambdas/regions/region-table.ts), written into the lake unchanged. */
export const REGIONS_TABLE = {
  name: 'regions',
  description:
    "Every county code NAV's exports can carry, with its names and the months it is valid. Shipped with the code from SSB's classification 104.",
  prefix: 'reference/regions/',
  columns: REGION_COLUMNS,
} as const satisfies TableDef;

export const REGION_GROUPS_TABLE = {
  name: 'region_groups',
  description:
    'For each county code and validity, the area it belongs to across the county reforms (see docs/regions.md). Join on `region_code` (or `region`) and `period` between `valid_from` and `valid_to`.',
  prefix: 'reference/region_groups/',
  columns: REGION_GROUP_COLUMNS,
} as const satisfies TableDef;

export const REFERENCE_TABLES = [REGIONS_TABLE, REGION_GROUPS_TABLE] as const;

export const TABLES = [OBSERVATIONS_TABLE, INGESTIONS_TABLE, ...REFERENCE_TABLES] as const;

export function dataColumns(table: TableDef): ColumnDef[] {
  return table.columns.filter((c) => !c.partitionKey);
}

export function partitionColumns(table: TableDef): ColumnDef[] {
  return table.columns.filter((c) => c.partitionKey === true);
}

export function glueType(c: ColumnDef): string {
  return COLUMN_KINDS[c.kind].glue;
}

export function duckdbType(c: ColumnDef): string {
  return COLUMN_KINDS[c.kind].duckdb;
}

export function tsType(c: ColumnDef): string {
  const base = COLUMN_KINDS[c.kind].ts;
  return c.nullable ? `${base} \\| null` : base;
}

/** The README's schema section, generated so that a test can fail when the two drift. */
export function schemaMarkdown(): string {
  const parts: string[] = [];
  for (const table of TABLES as readonly TableDef[]) {
    parts.push(`### \`${table.name}\``, '', table.description, '');
    parts.push('| column | type (TypeScript) | Athena / Glue | DuckDB | description |');
    parts.push('|---|---|---|---|---|');
    for (const c of table.columns) {
      const name = c.partitionKey ? `${c.name} (partition)` : c.name;
      parts.push(`| \`${name}\` | \`${tsType(c)}\` | \`${glueType(c)}\` | \`${duckdbType(c)}\` | ${c.description} |`);
    }
    parts.push('');
  }
  return parts.join('\n').trimEnd();
}
