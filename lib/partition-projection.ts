/**
 * The partition projection of the observations table: which `year=`/`month=` prefixes Athena lists. Kept free of CDK
 * imports because the local DuckDB views (cli/local-views.ts) read exactly the partitions Athena would.
 */

export interface IntegerProjection {
  /** Inclusive. */
  readonly range: readonly [number, number];
  /** Zero-padded width of the value in the object path. */
  readonly digits?: number;
}

/**
 * Athena lists every projected prefix of a query without a filter on the key: one S3 LIST per (year, month). NAV's
 * exports of this family start in 2018 in practice; 2015 leaves room for an older export without costing much.
 */
export const DEFAULT_FIRST_YEAR = 2015;
/**
 * A fixed year rather than the synth year plus a margin: the template stays the same whenever it is synthesized, and a
 * test fails well before the bound is reached (an object past it would be written but never read by Athena).
 */
export const DEFAULT_LAST_YEAR = 2035;

/**
 * Keyed by partition column; a partition key without an entry here fails the synth. Integer projection rather than
 * `injected`: an injected key makes Athena refuse every query without an equality filter on it, which would break the
 * example queries and every BI tool's table preview. (`date` projection, which could end at NOW, needs a string key.)
 */
export function observationsProjection(
  firstYear = DEFAULT_FIRST_YEAR,
  lastYear = DEFAULT_LAST_YEAR,
): Readonly<Record<string, IntegerProjection>> {
  if (!Number.isSafeInteger(firstYear) || !Number.isSafeInteger(lastYear) || firstYear < 1 || firstYear > lastYear) {
    throw new Error(`Projected years must be whole years, first <= last; got ${firstYear}-${lastYear}`);
  }
  return {
    year: { range: [firstYear, lastYear] },
    // lambdas/lake/layout.ts writes `month=01` ... `month=12`.
    month: { range: [1, 12], digits: 2 },
  };
}

/** How Athena writes a projected integer into the path: plain, or zero-padded to `digits`. */
export function projectedValue(projection: IntegerProjection, value: number): string {
  return projection.digits === undefined ? String(value) : String(value).padStart(projection.digits, '0');
}

/** Whether `text` is a path value Athena generates for `projection` (so `month=1` or `year=02019` never are). */
export function isProjectedValue(projection: IntegerProjection, text: string): boolean {
  if (!/^-?[0-9]+$/.test(text)) return false;
  const value = Number(text);
  const [low, high] = projection.range;
  return value >= low && value <= high && projectedValue(projection, value) === text;
}

/** Number of prefixes Athena lists for a query that does not filter on any partition key. */
export function projectedPartitionCount(projection: Readonly<Record<string, IntegerProjection>>): number {
  return Object.values(projection).reduce((n, p) => n * (p.range[1] - p.range[0] + 1), 1);
}
