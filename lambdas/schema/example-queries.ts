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
    id: 'participants-by-region-group',
    question: 'How many took part in training (Opplæring) in each area, month by month from 2019 to 2024, across the county reforms?',
    sql: `SELECT o.period, g.region_group, g.exact, sum(o.value) AS participants
FROM observations o
JOIN region_groups g
  ON g.region_code = o.region_code
 AND o.period BETWEEN g.valid_from AND coalesce(g.valid_to, '9999-12')
WHERE o.year BETWEEN 2019 AND 2024
  AND o.main_group = 'I alt' AND o.measure_group = 'Opplæring'
GROUP BY o.period, g.region_group, g.exact
ORDER BY g.region_group, o.period`,
  },
  {
    id: 'region-group-totals-check',
    question: 'Do the region groups add up to the national total wherever every group is present and nothing is suppressed?',
    sql: `SELECT count(*) AS checked,
       sum(CASE WHEN group_sum <> national THEN 1 ELSE 0 END) AS mismatches
FROM (
  SELECT o.period, o.main_group, o.measure_group,
         max(CASE WHEN o.region = 'I alt' THEN o.value END) AS national,
         sum(CASE WHEN g.region_group IS NOT NULL THEN o.value END) AS group_sum,
         count(DISTINCT g.region_group) AS groups_present,
         max(CASE WHEN o.suppressed THEN 1 ELSE 0 END) AS any_suppressed
  FROM observations o
  LEFT JOIN region_groups g
    ON g.region = o.region
   AND o.period BETWEEN g.valid_from AND coalesce(g.valid_to, '9999-12')
  WHERE o.year BETWEEN 2019 AND 2024
  GROUP BY o.period, o.main_group, o.measure_group
) totals
WHERE groups_present = (SELECT count(DISTINCT region_group) FROM region_groups)
  AND any_suppressed = 0`,
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
