/**
 * The example queries run on DuckDB in the tests (test/readme.test.ts) and are saved as Athena named queries: they must
 * not use DuckDB-only syntax, which Athena (Trino) would refuse.
 */
import { describe, expect, it } from 'vitest';
import { EXAMPLE_QUERIES } from '../../lambdas/schema/example-queries.ts';
import { synthesize } from '../cdk/synth.ts';
import { duckdbOnlyConstructs } from './trino-dialect.ts';

describe('the DuckDB-only check', () => {
  it.each([
    ['SELECT value::varchar FROM observations', ':: cast'],
    ["SELECT * FROM observations WHERE region ILIKE 'oslo'", 'ILIKE'],
    ['SELECT * FROM observations QUALIFY row_number() OVER (ORDER BY period) = 1', 'QUALIFY'],
    ['SELECT * EXCLUDE (value) FROM observations', 'EXCLUDE'],
    ["SELECT strftime(ingested_at, '%Y') FROM ingestions", 'function strftime()'],
    ['SELECT list(value) FROM observations', 'function list()'],
    ['SELECT [1, 2, 3] AS xs', 'list literal'],
    ["SELECT {'a': 1} AS s", 'struct or map literal'],
    ['SELECT CAST(value AS STRING) FROM observations', 'CAST to STRING'],
    ['SELECT CAST(value AS HUGEINT) FROM observations', 'CAST to HUGEINT'],
    ['SELECT region, count(*) FROM observations GROUP BY ALL', 'GROUP BY ALL'],
    ['SELECT DISTINCT ON (region) region FROM observations', 'DISTINCT ON'],
    ['FROM observations SELECT region', 'FROM-first'],
    ['SELECT 1_000 AS n', '_ in a number'],
    ['SELECT 2 ** 3', '** power'],
    ['SELECT * FROM observations WHERE value == 1', '== comparison'],
    ["SELECT regexp_matches(region, '^O') FROM observations", 'function regexp_matches()'],
    ['SELECT * FROM a ASOF JOIN b USING (period)', 'ASOF JOIN'],
  ])('flags %s', (sql, construct) => {
    expect(duckdbOnlyConstructs(sql).join('; ')).toContain(construct);
  });

  it.each([
    'SELECT \'a::b ILIKE [1]\' AS s, "odd::name" FROM observations',
    "-- ILIKE, QUALIFY and :: in a comment\nSELECT 1 /* {'a': 1} */",
    'SELECT CAST(value AS bigint), try_cast(period AS varchar) FROM observations',
    'SELECT ARRAY[1, 2][1], warnings[1], partitions[1].period FROM ingestions',
    'SELECT count(*) FILTER (WHERE suppressed) FROM observations',
    'SELECT region, row_number() OVER (PARTITION BY period ORDER BY value DESC NULLS LAST) AS n FROM observations',
    "SELECT coalesce(value, 0), nullif(region_code, '') FROM observations WHERE period BETWEEN '2019-01' AND '2019-06'",
  ])('accepts the shared dialect: %s', (sql) => {
    expect(duckdbOnlyConstructs(sql)).toEqual([]);
  });
});

describe('queries that Athena runs', () => {
  it.each(EXAMPLE_QUERIES.map((q) => [q.id, q.sql]))('example query %s uses no DuckDB-only syntax', (_id, sql) => {
    expect(duckdbOnlyConstructs(sql)).toEqual([]);
  });

  it('every saved named query is one of them, word for word', () => {
    const { template } = synthesize({ bundle: false });
    const saved = Object.values(template.findResources('AWS::Athena::NamedQuery')).map((q) => String(q.Properties?.QueryString));
    expect(saved.length).toBeGreaterThan(0);
    for (const sql of saved) {
      expect(duckdbOnlyConstructs(sql)).toEqual([]);
      expect(EXAMPLE_QUERIES.map((q) => q.sql)).toContain(sql);
    }
  });
});
