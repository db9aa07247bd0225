/**
 * What the handler is asked to do, from the event shapes S3 and SQS really send: S3 notifications directly, or
 * wrapped in SQS message bodies (the deployed path). Test events and non-ObjectCreated records are ignored.
 */
import type { S3Event, S3EventRecord, SQSEvent, SQSRecord } from 'aws-lambda';

export interface UploadRef {
  bucket: string;
  /** Decoded key, as the object is named in the bucket. */
  key: string;
  size?: number;
  eTag?: string;
  versionId?: string;
  sequencer: string;
  eventTime: string;
}

/** S3 sends keys form-encoded: `+` for a space and %XX for everything else that is not plain ASCII. */
export function decodeS3Key(key: string): string {
  return decodeURIComponent(key.replace(/\+/g, ' '));
}

export function isSqsEvent(event: unknown): event is SQSEvent {
  const records = (event as { Records?: Array<{ eventSource?: string }> } | null)?.Records;
  return Array.isArray(records) && records.length > 0 && records[0]?.eventSource === 'aws:sqs';
}

export function uploadsFromS3Event(event: Partial<S3Event> & { Event?: string }): UploadRef[] {
  if (event.Event === 's3:TestEvent' || !Array.isArray(event.Records)) return [];
  return event.Records.filter(isObjectCreated).map(toUpload);
}

export type SqsBodyParse = { ok: true; uploads: UploadRef[] } | { ok: false; reason: string };

export function uploadsFromSqsRecord(record: SQSRecord): SqsBodyParse {
  let body: unknown;
  try {
    body = JSON.parse(record.body);
  } catch {
    return { ok: false, reason: 'the message body is not JSON' };
  }
  if (body === null || typeof body !== 'object') return { ok: false, reason: 'the message body is not an S3 notification' };
  try {
    return { ok: true, uploads: uploadsFromS3Event(body as Partial<S3Event> & { Event?: string }) };
  } catch (e) {
    // A key that is not valid percent-encoding (S3 never sends one) would fail the whole batch on every delivery.
    return { ok: false, reason: `the S3 notification cannot be read: ${e instanceof Error ? e.message : String(e)}` };
  }
}

function isObjectCreated(r: S3EventRecord): boolean {
  return (
    typeof r.eventName === 'string' && r.eventName.startsWith('ObjectCreated:') && r.s3?.object?.key !== undefined && !isFolderMarker(r)
  );
}

/** The S3 console's "Create folder" makes an empty object whose key ends in `/`: not an upload, nothing to report. */
function isFolderMarker(r: S3EventRecord): boolean {
  return r.s3.object.key.endsWith('/') && (r.s3.object.size ?? 0) === 0;
}

function toUpload(r: S3EventRecord): UploadRef {
  const o = r.s3.object;
  return {
    bucket: r.s3.bucket.name,
    key: decodeS3Key(o.key),
    ...(typeof o.size === 'number' ? { size: o.size } : {}),
    ...(o.eTag ? { eTag: o.eTag } : {}),
    ...(o.versionId ? { versionId: o.versionId } : {}),
    sequencer: o.sequencer ?? '',
    eventTime: r.eventTime,
  };
}
