// The whole content of a lake, for "this lake equals that one" comparisons across servers, runs and orders:
//   expect(await lakeState(s3)).toEqual(await lakeState(cleanS3));
// Observation rows by partition key, decompressed and sorted (the order of rows inside an object depends on the
// order uploads were merged in, and means nothing); ingestion records by key; rejection reports by key. Processing
// times (`ingested_at`, `rejected_at`) are left out, since a redelivery runs later than the clean run it is compared
// with.
import type { S3Client } from '@aws-sdk/client-s3';
import { lakeKeys, partitionRows, readLakeJson } from './events.ts';

export type Row = Record<string, unknown>;

export interface LakeState {
  observations: Record<string, Row[]>;
  ingestions: Record<string, Row>;
  rejected: Record<string, Row>;
}

export function withoutTimes(row: Row): Row {
  const { ingested_at: _i, rejected_at: _r, ...rest } = row;
  return rest;
}

/** Rows in a fixed order: by section, region and the rest. */
export function sortedRows(rows: Row[]): Row[] {
  const keyed = rows.map((r) => [`${r.main_group}\u0000${r.measure_group}\u0000${r.region}\u0000${JSON.stringify(r)}`, r] as const);
  return keyed.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0)).map(([, r]) => r);
}

export async function lakeState(s3: { lakeDir: string; client?: S3Client }): Promise<LakeState> {
  const state: LakeState = { observations: {}, ingestions: {}, rejected: {} };
  for (const key of await lakeKeys(s3.lakeDir, 'observations/')) {
    state.observations[key] = sortedRows((await partitionRows(s3.lakeDir, key)).map(withoutTimes));
  }
  for (const key of await lakeKeys(s3.lakeDir, 'ingestions/')) state.ingestions[key] = withoutTimes(await readLakeJson(s3.lakeDir, key));
  for (const key of await lakeKeys(s3.lakeDir, 'rejected/')) state.rejected[key] = withoutTimes(await readLakeJson(s3.lakeDir, key));
  return state;
}
