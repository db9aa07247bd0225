// What the handler reads from the events AWS really sends: S3 notifications directly or inside SQS message bodies,
// keys form-encoded as S3 sends them, test events and non-ObjectCreated records ignored.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { s3EventKeyEncode } from '../../cli/local-s3.ts';
import { decodeS3Key, isSqsEvent, uploadsFromS3Event, uploadsFromSqsRecord } from '../../lambdas/ingest/events.ts';
import {
  nextEventTime,
  nextSequencer,
  notificationMessage,
  s3Event,
  s3Record,
  s3TestEventBody,
  sqsEvent,
  sqsRecord,
  type ObjectRef,
} from '../helpers/events.ts';

function ref(key: string, extra: Partial<ObjectRef> = {}): ObjectRef {
  return {
    bucket: 'navlake-raw',
    key,
    size: 40479,
    eTag: '9b2cf535f27731c974343645a3985328',
    sequencer: nextSequencer(),
    eventTime: nextEventTime(),
    ...extra,
  };
}

describe('decodeS3Key', () => {
  it.each([
    ['NAV+tiltak+2019.txt', 'NAV tiltak 2019.txt'],
    ['a%2Bb.txt', 'a+b.txt'],
    ['uploads/%C3%B8stfold+%C3%A6%C3%B8%C3%A5.txt', 'uploads/østfold æøå.txt'],
    ['100%25+sikkert.txt', '100% sikkert.txt'],
    ['year%3D2019/m%C3%A5ned.txt', 'year=2019/måned.txt'],
  ])('%s -> %j', (encoded, key) => {
    expect(decodeS3Key(encoded)).toBe(key);
  });

  it('inverts the encoding S3 applies, for any key', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 60 }), (key) => {
        expect(decodeS3Key(s3EventKeyEncode(key))).toBe(key);
      }),
      { numRuns: 300 },
    );
  });
});

describe('uploads from a plain S3 event', () => {
  it('names the bucket, decoded key, size, eTag, sequencer and event time of each ObjectCreated record', () => {
    const a = ref('uploads/NAV tiltak+fylke æøå 100%.txt', { versionId: '3HL4kqtJlcpXroDTDmJ+rmSpXd3dIbrHY' });
    const b = ref('b.txt');

    const uploads = uploadsFromS3Event(s3Event(s3Record(a), s3Record(b, 'ObjectCreated:CompleteMultipartUpload')));

    expect(uploads).toEqual([
      { bucket: a.bucket, key: a.key, size: a.size, eTag: a.eTag, versionId: a.versionId, sequencer: a.sequencer, eventTime: a.eventTime },
      { bucket: b.bucket, key: b.key, size: b.size, eTag: b.eTag, sequencer: b.sequencer, eventTime: b.eventTime },
    ]);
  });

  it('ignores ObjectRemoved and other non-ObjectCreated records', () => {
    const removed = ref('gone.txt', { size: undefined, eTag: undefined });

    const uploads = uploadsFromS3Event(
      s3Event(s3Record(removed, 'ObjectRemoved:Delete'), s3Record(ref('x.txt'), 'ObjectRestore:Completed'), s3Record(ref('kept.txt'))),
    );

    expect(uploads.map((u) => u.key)).toEqual(['kept.txt']);
  });

  it('ignores the s3:TestEvent S3 sends when notifications are configured', () => {
    expect(uploadsFromS3Event(JSON.parse(s3TestEventBody()) as object)).toEqual([]);
  });

  it('leaves size out when the record has none', () => {
    const [upload] = uploadsFromS3Event(s3Event(s3Record(ref('nosize.txt', { size: undefined }))));
    expect(upload).not.toHaveProperty('size');
  });
});

describe('uploads from SQS messages', () => {
  it('tells SQS events from S3 events', () => {
    const record = s3Record(ref('a.txt'));
    expect(isSqsEvent(sqsEvent(notificationMessage(record)))).toBe(true);
    expect(isSqsEvent(s3Event(record))).toBe(false);
  });

  it('reads the S3 notification in the body: bucket, decoded key, size, eTag, sequencer and event time', () => {
    const a = ref('uploads/a b+c.txt');
    const record = s3Record(a);
    // The key as S3 writes it into the notification, by hand: a space is `+`, a `+` is %2B.
    record.s3.object.key = 'uploads/a+b%2Bc.txt';
    const message = notificationMessage(record);

    expect(uploadsFromSqsRecord(message)).toEqual({
      ok: true,
      uploads: [
        {
          bucket: 'navlake-raw',
          key: 'uploads/a b+c.txt',
          size: 40479,
          eTag: '9b2cf535f27731c974343645a3985328',
          sequencer: a.sequencer,
          eventTime: a.eventTime,
        },
      ],
    });
  });

  it('reads a test event body as no uploads, and a body that is not JSON as unreadable', () => {
    expect(uploadsFromSqsRecord(sqsRecord(s3TestEventBody()))).toEqual({ ok: true, uploads: [] });
    expect(uploadsFromSqsRecord(sqsRecord('not json'))).toMatchObject({ ok: false });
    expect(uploadsFromSqsRecord(sqsRecord('null'))).toMatchObject({ ok: false });
  });

  it('reads a key that is not valid percent-encoding as unreadable instead of throwing', () => {
    const record = s3Record(ref('x'));
    record.s3.object.key = 'bad%E0%A4%A.txt';
    const message = notificationMessage(record);

    expect(uploadsFromSqsRecord(message)).toMatchObject({ ok: false });
  });
});
