/**
 * The `regions` and `region_groups` tables as the lake holds them: one plain NDJSON object per table, below the
 * table's prefix. On AWS the stack deploys these bodies (lib/reference-data.ts); locally the embedded lake writes them
 * at every start (ensureReferenceObjects). Both take the bodies from here, so Athena and DuckDB read the same rows.
 */
import { GetObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { isNotFound } from '../lake/s3-errors.ts';
import { jsonLineEncoder } from '../schema/json-line.ts';
import { REGION_GROUPS_TABLE, REGIONS_TABLE, type TableDef } from '../schema/columns.ts';
import { REGION_GROUPS } from './region-groups.ts';
import { REGIONS } from './region-table.ts';

export interface ReferenceObject {
  /** Full key in the lake bucket. */
  readonly key: string;
  /** File name below the table's prefix. */
  readonly fileName: string;
  readonly table: TableDef;
  readonly body: string;
}

function ndjson(table: TableDef, rows: readonly object[]): string {
  const encode = jsonLineEncoder(table.columns.map((c) => c.name));
  return rows.map((r) => `${encode(r as Record<string, unknown>)}\n`).join('');
}

function referenceObject(table: TableDef, rows: readonly object[]): ReferenceObject {
  // No segment starts with `_` or `.`, which Athena would skip as hidden.
  const fileName = `${table.name}.ndjson`;
  return { key: `${table.prefix}${fileName}`, fileName, table, body: ndjson(table, rows) };
}

export const REFERENCE_OBJECTS: readonly ReferenceObject[] = [
  referenceObject(REGIONS_TABLE, REGIONS),
  referenceObject(REGION_GROUPS_TABLE, REGION_GROUPS),
];

/** The body of the object at `key`, or null when there is none. */
export type StoredBody = (key: string) => Promise<string | null>;

/**
 * Writes each reference object that is missing or differs from what this version ships, and leaves equal ones alone
 * (so a lake read by a running query is not rewritten at every start). A PUT replaces the whole object at once, so a
 * reader sees the old table or the new one, never a mix. `stored` reads what the bucket holds (default: a GET; the
 * embedded lake reads its store's files). Returns the keys written.
 */
export async function ensureReferenceObjects(s3: S3Client, bucket: string, stored: StoredBody = getBody(s3, bucket)): Promise<string[]> {
  const written = await Promise.all(REFERENCE_OBJECTS.map((object) => ensureReferenceObject(s3, bucket, object, stored)));
  return written.filter((key) => key !== null);
}

function getBody(s3: S3Client, bucket: string): StoredBody {
  return async (key) => {
    try {
      const got = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
      return (await got.Body?.transformToString('utf8')) ?? '';
    } catch (e) {
      if (isNotFound(e)) return null;
      throw e;
    }
  };
}

/** The key when it had to be written, null when the lake already held exactly this body. */
async function ensureReferenceObject(s3: S3Client, bucket: string, object: ReferenceObject, stored: StoredBody): Promise<string | null> {
  if ((await stored(object.key)) === object.body) return null;
  await s3.send(
    new PutObjectCommand({
      Bucket: bucket,
      Key: object.key,
      Body: object.body,
      ContentType: 'application/x-ndjson; charset=utf-8',
    }),
  );
  return object.key;
}
