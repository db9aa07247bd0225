/**
 * What the report shows, read from the lake's DuckDB views in one connection (so every figure comes from the same
 * listing of the lake's files). Totals are taken from the rows the export itself totals, never by adding up rows
 * that already contain each other: a region 'I alt' row holds its counties, and a main group 'I alt' section holds
 * the three main groups.
 */
import type { Row } from '../format.ts';
import { runSql, withLakeConnection } from '../local-query.ts';

/** One point of the participants-per-month chart: the national all-main-groups value of one measure group. */
export interface TrendPoint {
  measureGroup: string;
  period: string;
  /** Null where NAV suppressed the national figure. */
  value: number | null;
}

/** One bar of the latest-month-by-county chart. */
export interface CountyBar {
  regionCode: string;
  region: string;
  /** Sum over the measure groups of the county's all-main-groups values; suppressed values count as nothing. */
  participants: number;
  suppressedValues: number;
}

export interface DatasetReport {
  dataset: string;
  title: string;
  firstPeriod: string;
  lastPeriod: string;
  observations: number;
  suppressed: number;
  trend: TrendPoint[];
  /** Measure groups of the dataset that have no national all-main-groups row, so no line. */
  measureGroupsWithoutTotal: string[];
  /** The last month with county rows; null when the dataset has none. */
  countyPeriod: string | null;
  counties: CountyBar[];
}

export interface IngestionSummary {
  sourceKey: string;
  status: string;
  sourceVintage: string | null;
  records: number;
  recordsWritten: number;
  warnings: string[];
  errorCode: string | null;
  errorMessage: string | null;
  errorLine: number | null;
  ingestedAt: string;
}

export interface ReportData {
  datasets: DatasetReport[];
  ingestions: IngestionSummary[];
}

const DATASETS_SQL = `SELECT dataset, max(table_title) AS title, min(period) AS first_period, max(period) AS last_period,
       count(*) AS observations, count(*) FILTER (WHERE suppressed) AS suppressed
FROM observations
GROUP BY dataset
ORDER BY dataset`;

// Region 'I alt' is the national total row and main group 'I alt' the section over all main groups: one row per
// measure group and month, so no value is counted twice.
const TREND_SQL = `SELECT dataset, measure_group, period, value
FROM observations
WHERE region = 'I alt' AND main_group = 'I alt'
ORDER BY dataset, measure_group, period`;

const MEASURE_GROUPS_SQL = `SELECT DISTINCT dataset, measure_group
FROM observations
ORDER BY dataset, measure_group`;

// Counties only (a county code): 'I alt' would hold them all again, and Øvrige områder and Ukjent are no county.
const COUNTIES_SQL = `WITH latest AS (
  SELECT dataset, max(period) AS period
  FROM observations
  WHERE main_group = 'I alt' AND region_code IS NOT NULL
  GROUP BY dataset
)
SELECT o.dataset, o.period, o.region_code, min(o.region) AS region,
       coalesce(sum(o.value), 0) AS participants,
       count(*) FILTER (WHERE o.suppressed) AS suppressed_values
FROM observations o
JOIN latest l ON o.dataset = l.dataset AND o.period = l.period
WHERE o.main_group = 'I alt' AND o.region_code IS NOT NULL
GROUP BY o.dataset, o.period, o.region_code
ORDER BY o.dataset, participants DESC, o.region_code`;

const INGESTIONS_SQL = `SELECT source_key, status, source_vintage, records, records_written, warnings,
       error_code, error_message, error_line, ingested_at
FROM ingestions
ORDER BY ingested_at DESC, source_key`;

export async function loadReportData(lakeDir: string): Promise<ReportData> {
  return withLakeConnection(lakeDir, async (c) => {
    // One connection runs one statement at a time.
    const query = async (sql: string): Promise<Row[]> => (await runSql(c, sql)).rows;
    const datasetRows = await query(DATASETS_SQL);
    const trendRows = await query(TREND_SQL);
    const groupRows = await query(MEASURE_GROUPS_SQL);
    const countyRows = await query(COUNTIES_SQL);
    const ingestionRows = await query(INGESTIONS_SQL);
    const datasets = datasetRows.map((r): DatasetReport => {
      const dataset = str(r, 'dataset');
      const trend = trendRows
        .filter((t) => str(t, 'dataset') === dataset)
        .map((t) => ({ measureGroup: str(t, 'measure_group'), period: str(t, 'period'), value: numOrNull(t, 'value') }));
      const drawn = new Set(trend.map((t) => t.measureGroup));
      const counties = countyRows.filter((b) => str(b, 'dataset') === dataset);
      return {
        dataset,
        title: str(r, 'title'),
        firstPeriod: str(r, 'first_period'),
        lastPeriod: str(r, 'last_period'),
        observations: num(r, 'observations'),
        suppressed: num(r, 'suppressed'),
        trend,
        measureGroupsWithoutTotal: groupRows
          .filter((g) => str(g, 'dataset') === dataset)
          .map((g) => str(g, 'measure_group'))
          .filter((g) => !drawn.has(g)),
        countyPeriod: counties[0] ? str(counties[0], 'period') : null,
        counties: counties.map((b) => ({
          regionCode: str(b, 'region_code'),
          region: str(b, 'region'),
          participants: num(b, 'participants'),
          suppressedValues: num(b, 'suppressed_values'),
        })),
      };
    });
    const ingestions = ingestionRows.map(
      (r): IngestionSummary => ({
        sourceKey: str(r, 'source_key'),
        status: str(r, 'status'),
        sourceVintage: strOrNull(r, 'source_vintage'),
        records: num(r, 'records'),
        recordsWritten: num(r, 'records_written'),
        warnings: strArray(r, 'warnings'),
        errorCode: strOrNull(r, 'error_code'),
        errorMessage: strOrNull(r, 'error_message'),
        errorLine: numOrNull(r, 'error_line'),
        ingestedAt: str(r, 'ingested_at'),
      }),
    );
    return { datasets, ingestions };
  });
}

function field(row: Row, name: string): unknown {
  if (!(name in row)) throw new Error(`report query returned no column ${name}`);
  return row[name];
}

function str(row: Row, name: string): string {
  const v = field(row, name);
  if (typeof v !== 'string') throw new Error(`report query: ${name} is ${typeof v}, not a string`);
  return v;
}

function strOrNull(row: Row, name: string): string | null {
  return field(row, name) === null ? null : str(row, name);
}

function num(row: Row, name: string): number {
  const v = field(row, name);
  if (typeof v !== 'number') throw new Error(`report query: ${name} is ${typeof v}, not a number`);
  return v;
}

function numOrNull(row: Row, name: string): number | null {
  return field(row, name) === null ? null : num(row, name);
}

function strArray(row: Row, name: string): string[] {
  const v = field(row, name);
  if (v === null) return [];
  if (!Array.isArray(v) || !v.every((x): x is string => typeof x === 'string')) {
    throw new Error(`report query: ${name} is not a list of strings`);
  }
  return v;
}
