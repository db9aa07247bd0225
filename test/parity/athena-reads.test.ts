/**
 * Which lake objects Athena reads, stated twice and compared: once by athenaReads (the rule the local DuckDB views
 * apply), once straight from the synthesized Glue tables (location, projection parameters) and Trino's hidden-file
 * rule. Trino's Hive connector (Athena engine 3) skips a file when any path segment below the listed location starts
 * with `.` or `_` (HiveFileIterator.containsHiddenPathPartAfterIndex); Hive's FileInputFormat does the same.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { athenaReads } from '../../cli/local-views.ts';
import { ingestionKey, observationKey, rejectedKey } from '../../lambdas/lake/layout.ts';
import { INGESTIONS_TABLE, OBSERVATIONS_TABLE, partitionColumns } from '../../lambdas/schema/columns.ts';
import { flatten } from '../cdk/policy.ts';
import { synthesize } from '../cdk/synth.ts';

/** Trino's containsHiddenPathPartAfterIndex, line for line. */
function containsHiddenPathPartAfterIndex(path: string, startFromIndex: number): boolean {
  let i = startFromIndex;
  while (i < path.length) {
    const first = path.charAt(i);
    if (first === '.' || first === '_') return true;
    const next = path.indexOf('/', i);
    if (next < 0) break;
    i = next + 1;
  }
  return false;
}

/** Whether Athena reads `key` when it lists the prefix `location` (recursively, as it does for Hive tables). */
function readBelow(location: string, key: string): boolean {
  return (
    key.startsWith(location) &&
    key.length > location.length &&
    !key.endsWith('/') &&
    !containsHiddenPathPartAfterIndex(key, location.length)
  );
}

// ---- the deployed definition ---------------------------------------------------------------------------------

const { template } = synthesize({ bundle: false });

function glueTable(name: string): { location: string; parameters: Record<string, string> } {
  const tables = Object.values(template.findResources('AWS::Glue::Table'));
  const input = tables.map((t) => t.Properties?.TableInput as Record<string, unknown>).find((t) => t.Name === name);
  if (input === undefined) throw new Error(`No Glue table ${name}`);
  const parameters = Object.fromEntries(Object.entries(input.Parameters as Record<string, unknown>).map(([k, v]) => [k, flatten(v)]));
  const location = flatten((input.StorageDescriptor as { Location: unknown }).Location);
  return { location, parameters };
}

/** `s3://<bucket>/some/prefix/` -> `some/prefix/`. */
function keyOf(s3Url: string): string {
  const m = /^s3:\/\/[^/]+\/(.*)$/.exec(s3Url);
  if (m?.[1] === undefined) throw new Error(`Not an S3 URL: ${s3Url}`);
  return m[1];
}

/** Every partition location Athena generates from the table's projection parameters. */
function projectedLocations(parameters: Record<string, string>): string[] {
  expect(parameters['projection.enabled']).toBe('true');
  let locations = [keyOf(parameters['storage.location.template'] ?? '')];
  for (const [, column] of (parameters['storage.location.template'] ?? '').matchAll(/\$\{([a-z_]+)\}/g)) {
    expect(parameters[`projection.${column}.type`]).toBe('integer');
    const [low, high] = (parameters[`projection.${column}.range`] ?? '').split(',').map(Number);
    const digits = Number(parameters[`projection.${column}.digits`] ?? '0');
    if (low === undefined || high === undefined) throw new Error(`No range for ${column}`);
    const values = Array.from({ length: high - low + 1 }, (_, i) => String(low + i).padStart(digits, '0'));
    locations = locations.flatMap((l) => values.map((v) => l.replace(`\${${column}}`, v)));
  }
  return locations;
}

const observations = glueTable(OBSERVATIONS_TABLE.name);
const observationLocations = new Set(projectedLocations(observations.parameters));
const ingestionsLocation = keyOf(glueTable(INGESTIONS_TABLE.name).location);

const deployedReads = {
  // Partition projection: Athena lists each projected location, never the table location itself.
  observations: (key: string): boolean => {
    const m = /^(observations\/[^/]*\/[^/]*\/)/.exec(key);
    return m?.[1] !== undefined && observationLocations.has(m[1]) && readBelow(m[1], key);
  },
  ingestions: (key: string): boolean => readBelow(ingestionsLocation, key),
};

// ---- the comparison ------------------------------------------------------------------------------------------

describe('athenaReads', () => {
  it('reads the keys the ingest function writes to the tables, and not its rejection reports', () => {
    const observation = observationKey('deltakere-i-arbeidsrettede-tiltak', 2019, 1);
    const ingestion = ingestionKey('deltakere-i-arbeidsrettede-tiltak', '2024-02-01T10:00:00.000Z', 'abc');
    expect(athenaReads(OBSERVATIONS_TABLE, observation)).toBe(true);
    expect(athenaReads(INGESTIONS_TABLE, ingestion)).toBe(true);
    expect(athenaReads(INGESTIONS_TABLE, rejectedKey('uploads/broken.txt'))).toBe(false);
    expect(athenaReads(OBSERVATIONS_TABLE, ingestion)).toBe(false);
  });

  it.each([
    ['ingestions/ds/2024-02-01.json', true],
    ['ingestions/ds/a_b.json', true],
    // The local store's suffix is not part of a key; inside a key, `._` mid-segment hides nothing.
    ['ingestions/ds/x.json._S3rver_object', true],
    ['ingestions/_unknown/2024-02-01.json', false],
    ['ingestions/ds/.hidden.json', false],
    ['ingestions/ds/_SUCCESS', false],
    ['ingestions/.staging/ds/x.json', false],
    ['ingestions/ds/', false],
    ['ingestionsX/ds/x.json', false],
    ['observations/year=2019/month=01/ds.ndjson.gz', true],
    ['observations/year=2019/month=12/sub/ds.ndjson.gz', true],
    ['observations/year=2015/month=01/ds.ndjson.gz', true],
    ['observations/year=2035/month=12/ds.ndjson.gz', true],
    ['observations/year=2014/month=12/ds.ndjson.gz', false],
    ['observations/year=2036/month=01/ds.ndjson.gz', false],
    ['observations/year=2019/month=1/ds.ndjson.gz', false],
    ['observations/year=2019/month=13/ds.ndjson.gz', false],
    ['observations/year=02019/month=01/ds.ndjson.gz', false],
    ['observations/month=01/year=2019/ds.ndjson.gz', false],
    ['observations/year=2019/ds.ndjson.gz', false],
    ['observations/ds.ndjson.gz', false],
    ['observations/year=2019/month=01/_tmp/ds.ndjson.gz', false],
    ['observations/year=2019/month=01/.ds.ndjson.gz', false],
  ])('%s: %s', (key, expected) => {
    const table = key.startsWith('observations') ? OBSERVATIONS_TABLE : INGESTIONS_TABLE;
    expect(athenaReads(table, key)).toBe(expected);
    expect(deployedReads[table.name as keyof typeof deployedReads](key)).toBe(expected);
  });

  it('agrees with the synthesized Glue tables and the Trino hidden-file rule on any key', () => {
    expect(partitionColumns(OBSERVATIONS_TABLE).map((c) => c.name)).toEqual(['year', 'month']);
    const segment = fc.oneof(
      fc.constantFrom('year=2019', 'year=2014', 'year=2015', 'year=2035', 'year=2036', 'year=02019', 'year=', 'year=x'),
      fc.constantFrom('month=01', 'month=1', 'month=12', 'month=00', 'month=13', 'month=001'),
      fc.constantFrom('_unknown', '_SUCCESS', '.hidden', '.', '..', 'x_y', 'x.json', 'ds.ndjson.gz', 'sub', ''),
      fc.stringMatching(/^[._a-z0-9=-]{1,6}$/),
    );
    const key = fc
      .tuple(
        fc.constantFrom('observations/', 'ingestions/', 'rejected/', 'observationsX/', '_observations/', ''),
        fc.array(segment, { maxLength: 5 }),
      )
      .map(([prefix, segments]) => `${prefix}${segments.join('/')}`);
    fc.assert(
      fc.property(key, (k) => {
        expect(athenaReads(OBSERVATIONS_TABLE, k), k).toBe(deployedReads.observations(k));
        expect(athenaReads(INGESTIONS_TABLE, k), k).toBe(deployedReads.ingestions(k));
      }),
      { numRuns: 5000 },
    );
  });
});
