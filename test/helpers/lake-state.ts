// The whole content of a lake, for "this lake equals that one" comparisons across servers and runs:
//   expect(await lakeState(s3)).toEqual(await lakeState(cleanS3));
// Observation objects by key: their holder (the user metadata the partition store compares) and their rows,
// decompressed; ingestion records by key; rejection reports by key. Processing times (`ingested_at`, `rejected_at`)
// are left out, since a redelivery runs later than the clean run it is compared with.
import { HeadObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { LOCAL_LAKE_BUCKET } from '../../lambdas/lake/layout.ts';
import { fromMetadata, type UploadOrder } from '../../lambdas/lake/upload-order.ts';
import { lakeKeys, partitionRows, readLakeJson } from './events.ts';

export type Row = Record<string, unknown>;

export interface PartitionState {
  holder: UploadOrder | null;
  /** The `records` metadata the writer stored beside the rows. */
  records: string | undefined;
  rows: Row[];
}

export interface LakeState {
  observations: Record<string, PartitionState>;
  ingestions: Record<string, Row>;
  rejected: Record<string, Row>;
}

export function withoutTimes(row: Row): Row {
  const { ingested_at: _i, rejected_at: _r, ...rest } = row;
  return rest;
}

export async function lakeState(s3: { lakeDir: string; client: S3Client }): Promise<LakeState> {
  const state: LakeState = { observations: {}, ingestions: {}, rejected: {} };
  for (const key of await lakeKeys(s3.lakeDir, 'observations/')) {
    const head = await s3.client.send(new HeadObjectCommand({ Bucket: LOCAL_LAKE_BUCKET, Key: key }));
    state.observations[key] = {
      holder: fromMetadata(head.Metadata),
      records: head.Metadata?.records,
      rows: (await partitionRows(s3.lakeDir, key)).map(withoutTimes),
    };
  }
  for (const key of await lakeKeys(s3.lakeDir, 'ingestions/')) state.ingestions[key] = withoutTimes(await readLakeJson(s3.lakeDir, key));
  for (const key of await lakeKeys(s3.lakeDir, 'rejected/')) state.rejected[key] = withoutTimes(await readLakeJson(s3.lakeDir, key));
  return state;
}
