/**
 * The questions the demo asks, the README shows and the Athena workgroup saves as named queries. The SQL is kept to
 * the dialect DuckDB and Athena (Trino) share, and a test runs every query on the local DuckDB views. Timestamps are
 * ISO-8601 strings: `from_iso8601_timestamp(...)` is Athena's function, and the local views define it for DuckDB.
 */
export interface ExampleQuery {
  /** Identifier, also the Athena named query's name. */
  readonly id: string;
  readonly question: string;
  readonly sql: string;
}

export const EXAMPLE_QUERIES: readonly ExampleQuery[] = [
  {
    id: 'row-count',
    question: 'How many values does the lake hold, and how many did NAV suppress?',
    sql: `SELECT count(*) AS records,
       sum(CASE WHEN suppressed THEN 1 ELSE 0 END) AS suppressed
FROM observations`,
  },
  {
    id: 'participants-by-county',
    question: 'How many took part in each county in January 2019 (all measure groups)?',
    sql: `SELECT region_code, region, sum(value) AS participants
FROM observations
WHERE year = 2019 AND month = 1
  AND main_group = 'I alt' AND region_code IS NOT NULL
GROUP BY region_code, region
ORDER BY region_code`,
  },
  {
    id: 'training-time-series',
    question: 'How did participation in training (Opplæring) develop month by month?',
    sql: `SELECT period, value
FROM observations
WHERE main_group = 'I alt' AND measure_group = 'Opplæring' AND region = 'I alt'
ORDER BY period`,
  },
  {
    id: 'main-group-totals-check',
    question: 'Do the three main groups add up to the all-groups total wherever nothing is suppressed?',
    sql: `SELECT count(*) AS checked,
       sum(CASE WHEN all_groups <> main_groups THEN 1 ELSE 0 END) AS mismatches
FROM (
  SELECT period, measure_group,
         max(CASE WHEN main_group = 'I alt' THEN value END) AS all_groups,
         sum(CASE WHEN main_group <> 'I alt' THEN value END) AS main_groups,
         count(DISTINCT main_group) AS main_group_count,
         max(CASE WHEN suppressed THEN 1 ELSE 0 END) AS any_suppressed
  FROM observations
  WHERE region = 'I alt'
  GROUP BY period, measure_group
) totals
WHERE main_group_count = 4 AND any_suppressed = 0`,
  },
  {
    id: 'recent-ingestions',
    question: 'Which uploads were processed, and what became of them?',
    sql: `SELECT from_iso8601_timestamp(ingested_at) AS processed, source_key, status, source_vintage, records_written, error_code
FROM ingestions
ORDER BY from_iso8601_timestamp(ingested_at) DESC
LIMIT 20`,
  },
];
