// Faults on the wire between the ingest handler and S3, at every request it makes: a proxy in front of the embedded
// S3 server answers 503 SlowDown, delays, or cuts the connection before or after the server did the work, once (the
// S3 client retries) or on every attempt (the handler reports the SQS message for redelivery). After every delivery
// each month of the lake holds exactly one upload's rows, and once redelivered the lake equals a clean run's.
//
// Other failure cases live elsewhere: one SlowDown on GetObject and one 500 on a partition PUT in
// test/ingest/failures.test.ts, 412/409 conflicts in test/ingest/conditional-writes.test.ts, a killed `navlake serve`
// in serve-crash.test.ts.
import { HeadObjectCommand } from '@aws-sdk/client-s3';
import type { SQSRecord } from 'aws-lambda';
import { afterAll, describe, expect, it } from 'vitest';
import { generateExport } from '../../bench/generate-export.ts';
import { localS3Client } from '../../cli/local-s3.ts';
import { createIngestHandler, type IngestHandler } from '../../lambdas/ingest/handler.ts';
import { DEFAULT_MAX_UPLOAD_BYTES } from '../../lambdas/ingest/ingest-upload.ts';
import { createKeyLock } from '../../lambdas/lake/key-lock.ts';
import { LOCAL_LAKE_BUCKET } from '../../lambdas/lake/layout.ts';
import { isNotFound } from '../../lambdas/lake/s3-errors.ts';
import {
  lakeSnapshot,
  notificationMessage,
  partitionKey,
  putRaw,
  redelivered,
  s3Record,
  seedText,
  sqsEvent,
  type LogEntry,
  type ObjectRef,
} from '../helpers/events.ts';
import { startFaultProxy, type FaultAction, type FaultPlan, type FaultProxy, type ProxiedRequest } from '../helpers/fault-proxy.ts';
import { lakeState, type LakeState } from '../helpers/lake-state.ts';
import { startTestS3, type TestS3 } from '../helpers/local-s3.ts';

// ---- the uploads ------------------------------------------------------------------------------------------------

/** In the lake before the faulty delivery: January-March 2019, vintage 2019-03. */
const OLDER = {
  text: generateExport({ seed: 11, years: [2019], sectionsPerYear: 2, lastYearMonths: 3 }),
  key: 'uploads/tiltak januar-mars 2019.txt',
  sequencer: '0055AED6DCD90281E5',
  eventTime: '2024-04-02T08:00:00.000Z',
};
/** Delivered with faults: January-April 2019, vintage 2019-04, other values; it replaces three months, adds one. */
const NEWER = {
  text: generateExport({ seed: 12, years: [2019], sectionsPerYear: 2, lastYearMonths: 4 }),
  key: 'uploads/tiltak januar-april 2019.txt',
  sequencer: '0055AED6DCD9029A17',
  eventTime: '2024-05-02T08:00:00.000Z',
};
const MONTHS = [1, 2, 3, 4].map((m) => partitionKey(2019, m));

// ---- a lake behind a faulty wire ---------------------------------------------------------------------------------

interface FaultLake {
  s3: TestS3;
  proxy: FaultProxy;
  handler: IngestHandler;
  logs: LogEntry[];
  older: ObjectRef;
  newer: ObjectRef;
  close(): Promise<void>;
}

/**
 * Where the handler runs: `local` as `navlake serve` runs it, with the per-key lock the local lake takes because
 * s3rver ignores conditional writes; `aws` as the Lambda runs it, without the lock, its conditional writes enforced
 * by the proxy as S3 enforces them.
 */
type Mode = 'local' | 'aws';

/**
 * A fresh embedded S3 server holding both uploads, the fault proxy in front of it, and the real handler whose S3
 * client talks only through the proxy, with the SDK's default retries.
 */
async function faultLake(mode: Mode = 'local'): Promise<FaultLake> {
  const s3 = await startTestS3({ cleanup: 'manual' });
  const currentEtag = async (bucket: string, key: string) => {
    try {
      return (await s3.client.send(new HeadObjectCommand({ Bucket: bucket, Key: key }))).ETag;
    } catch (e) {
      if (isNotFound(e)) return undefined;
      throw e;
    }
  };
  const proxy = await startFaultProxy(s3.endpoint, { cleanup: 'manual', ...(mode === 'aws' ? { currentEtag } : {}) });
  const client = localS3Client(proxy.endpoint);
  const logs: LogEntry[] = [];
  const log = (level: LogEntry['level']) => (message: string, extra?: Record<string, unknown>) =>
    void logs.push({ level, message, ...(extra ? { extra } : {}) });
  const handler = createIngestHandler({
    s3: client,
    lakeBucket: LOCAL_LAKE_BUCKET,
    maxUploadBytes: DEFAULT_MAX_UPLOAD_BYTES,
    logger: { info: log('info'), warn: log('warn'), error: log('error') },
    ...(mode === 'local' ? { lock: createKeyLock() } : {}),
  });
  // The same sequencers and event times on every server, so that every lake names the same ingestion records.
  const older = { ...(await putRaw(s3.client, OLDER.key, OLDER.text)), sequencer: OLDER.sequencer, eventTime: OLDER.eventTime };
  const newer = { ...(await putRaw(s3.client, NEWER.key, NEWER.text)), sequencer: NEWER.sequencer, eventTime: NEWER.eventTime };
  return {
    s3,
    proxy,
    handler,
    logs,
    older,
    newer,
    close: async () => {
      client.destroy();
      await proxy.close();
      await s3.cleanup();
    },
  };
}

function message(ref: ObjectRef): SQSRecord {
  return notificationMessage(s3Record(ref));
}

/** The lake after the older upload alone, and after both without any fault. */
let beforeState: LakeState;
let cleanState: LakeState;

async function cleanStates(): Promise<void> {
  if (cleanState) return;
  const lake = await faultLake();
  try {
    expect(await lake.handler(sqsEvent(message(lake.older)))).toEqual({ batchItemFailures: [] });
    beforeState = await lakeState(lake.s3);
    expect(await lake.handler(sqsEvent(message(lake.newer)))).toEqual({ batchItemFailures: [] });
    cleanState = await lakeState(lake.s3);
  } finally {
    await lake.close();
  }
}

const tally = { selfConflicts: 0, faults: 0, deliveries: 0, redeliveries: 0, objectReads: 0, torn: 0, duplicated: 0, lost: 0 };

/**
 * Every observation object holds exactly the rows of the older or of the newer upload for its month (both bring the
 * same two complete sections, so the newer replaces the older wholesale): never a mix, a part, a repeat or anything
 * else; every ingestion record is one of the clean run's.
 */
async function expectEveryMonthWhole(lake: FaultLake, context: string): Promise<void> {
  const state = await lakeState(lake.s3);
  for (const [key, partition] of Object.entries(state.observations)) {
    tally.objectReads++;
    const ids = partition.map((r) => JSON.stringify([r.breakdown, r.main_group, r.measure_group, r.region, r.period]));
    if (new Set(ids).size !== ids.length) tally.duplicated++;
    const whole = [beforeState.observations[key], cleanState.observations[key]].filter((p) => p !== undefined);
    if (!whole.some((p) => JSON.stringify(p) === JSON.stringify(partition))) tally.torn++;
    expect(whole, `${context}: ${key}`).toContainEqual(partition);
  }
  expect(
    Object.keys(state.observations).every((k) => MONTHS.includes(k)),
    context,
  ).toBe(true);
  for (const [key, record] of Object.entries(state.ingestions)) {
    expect([beforeState.ingestions[key], cleanState.ingestions[key]], `${context}: ${key}`).toContainEqual(record);
  }
  expect(state.rejected, context).toEqual({});
}

// ---- the sweep --------------------------------------------------------------------------------------------------

interface Kind {
  name: string;
  /** The fault for the request at `position` (and no other). */
  plan: (position: number) => FaultPlan;
  /** Whether the S3 client's own retries absorb it, or the message must be redelivered. */
  absorbed: boolean;
  /** Also swept with S3's conditional writes (the cut after a PUT landed makes the client's retry a 412). */
  aws?: boolean;
}

const once =
  (position: number, action: FaultAction): FaultPlan =>
  (r) =>
    r.position === position && r.attempt === 1 ? action : undefined;
const always =
  (position: number, action: FaultAction): FaultPlan =>
  (r) =>
    r.position === position ? action : undefined;

const KINDS: Kind[] = [
  { name: '503 SlowDown once', plan: (n) => once(n, { kind: 'slowdown' }), absorbed: true },
  { name: 'delayed 50-200 ms', plan: (n) => once(n, { kind: 'delay', ms: 50 + ((n * 37) % 151) }), absorbed: true },
  { name: 'cut before it reaches S3, once', plan: (n) => once(n, { kind: 'reset-before' }), absorbed: true },
  { name: 'cut after S3 did it, once', plan: (n) => once(n, { kind: 'reset-after' }), absorbed: true, aws: true },
  {
    name: '500 InternalError on every attempt',
    plan: (n) => always(n, { kind: 'error', status: 500, code: 'InternalError' }),
    absorbed: false,
  },
  { name: 'cut after S3 did it, on every attempt', plan: (n) => always(n, { kind: 'reset-after' }), absorbed: false, aws: true },
];

/** What the handler asks of S3 for the newer upload, in order, without faults: its request positions. */
let positions: Array<Pick<ProxiedRequest, 'method' | 'key'>> = [];

afterAll(() => {
  if (tally.deliveries === 0) return;
  console.log(
    `faults: ${tally.faults} injected across ${positions.length} request positions x ${KINDS.length} kinds ` +
      `(+ ${KINDS.filter((k) => k.aws).length} kinds with S3's conditional writes) ` +
      `(${tally.deliveries} faulty deliveries, ${tally.redeliveries} redeliveries, ${tally.objectReads} partition objects checked), ` +
      `${tally.selfConflicts} self-inflicted 412s recovered, ${tally.lost} lost/${tally.duplicated + tally.torn} duplicated or torn`,
  );
});

/** One faulty delivery of the newer upload over the older one, redelivered until it succeeds. */
async function sweepCase(kind: Kind, n: number, mode: Mode): Promise<void> {
  const context = `${kind.name} at request ${n} (${mode})`;
  const lake = await faultLake(mode);
  try {
    expect(await lake.handler(sqsEvent(message(lake.older)))).toEqual({ batchItemFailures: [] });
    lake.proxy.resetPositions();
    const injectedBefore = lake.proxy.injected;
    lake.proxy.plan(kind.plan(n));
    const first = message(lake.newer);

    // Act
    let response = await lake.handler(sqsEvent(first));
    const sentByReturn = lake.proxy.requests.length;
    lake.proxy.plan(undefined);
    tally.deliveries++;

    // Assess: the fault happened, and the outcome is the one expected of its kind
    const faulted = lake.proxy.requests.filter((r) => r.fault !== 'pass');
    expect(faulted.length, context).toBeGreaterThan(0);
    expect(
      faulted.every((r) => r.position === n),
      context,
    ).toBe(true);
    tally.faults += lake.proxy.injected - injectedBefore;
    expect(response, context).toEqual({ batchItemFailures: kind.absorbed ? [] : [{ itemIdentifier: first.messageId }] });
    await expectEveryMonthWhole(lake, `${context}, after the faulty delivery`);
    // A delivery reported as failed has nothing still running behind it.
    await lake.proxy.idle();
    expect(lake.proxy.requests.length, `${context}: requests after the handler returned`).toBe(sentByReturn);

    // Act: SQS redelivers the message until it succeeds
    let again = first;
    for (let attempt = 0; response.batchItemFailures.length > 0 && attempt < 3; attempt++) {
      again = redelivered(again);
      response = await lake.handler(sqsEvent(again));
      tally.redeliveries++;
      await expectEveryMonthWhole(lake, `${context}, after redelivery ${attempt + 1}`);
    }

    // Assess
    expect(response, context).toEqual({ batchItemFailures: [] });
    if (mode === 'aws' && positions[n - 1]?.method === 'PUT' && positions[n - 1]?.key.startsWith('observations/')) {
      // The client's retry of a conditional PUT that had landed was refused; the handler read again and rewrote.
      expect(lake.proxy.preconditionFailures, context).toBeGreaterThan(0);
      tally.selfConflicts += lake.proxy.preconditionFailures;
    }
    const final = await lakeState(lake.s3);
    if (JSON.stringify(final) !== JSON.stringify(cleanState)) tally.lost++;
    expect(final, context).toEqual(cleanState);
  } finally {
    await lake.close();
  }
}

async function inPool<T>(items: readonly T[], size: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: size }, async () => {
      while (next < items.length) await fn(items[next++] as T);
    }),
  );
}

describe('a fault at any request of an ingestion', () => {
  it('is retried by the client or redelivered; no month is ever torn or doubled; the lake ends as a clean run', async () => {
    // Prepare: the requests of a fault-free delivery of the newer upload over the older one
    await cleanStates();
    const dry = await faultLake();
    try {
      await dry.handler(sqsEvent(message(dry.older)));
      dry.proxy.resetPositions();
      await dry.handler(sqsEvent(message(dry.newer)));
      positions = dry.proxy.requests.map(({ method, key }) => ({ method, key }));
    } finally {
      await dry.close();
    }
    // GET the upload, GET and PUT each of four months, PUT the ingestion record.
    expect(positions.map((p) => p.method).sort()).toEqual([...Array(5).fill('GET'), ...Array(5).fill('PUT')].sort());
    expect(
      positions
        .filter((p) => p.key.startsWith('observations/'))
        .map((p) => `${p.method} ${p.key}`)
        .sort(),
    ).toEqual(MONTHS.flatMap((k) => [`GET ${k}`, `PUT ${k}`]).sort());

    const cases: Array<{ kind: Kind; n: number; mode: Mode }> = [];
    for (const mode of ['local', 'aws'] as const) {
      for (const kind of KINDS.filter((k) => mode === 'local' || k.aws)) {
        for (let n = 1; n <= positions.length; n++) cases.push({ kind, n, mode });
      }
    }
    // Three lakes at a time: most of a case is waiting on sockets and the client's back-off.
    await inPool(cases, 3, (c) => sweepCase(c.kind, c.n, c.mode));
    expect(tally).toMatchObject({ lost: 0, duplicated: 0, torn: 0 });
  }, 120_000);
});

describe('a crash between two partition writes', () => {
  it('leaves the months written before it whole and the others as they were; the redelivery completes the upload', async () => {
    // Prepare
    await cleanStates();
    const lake = await faultLake();
    try {
      await lake.handler(sqsEvent(message(lake.older)));
      const before = await lakeSnapshot(lake.s3.lakeDir, 'observations/');
      // The first month's PUT reaches S3, and the process dies before it hears back: nothing after it gets through.
      let crashedAt: ProxiedRequest | undefined;
      lake.proxy.resetPositions();
      lake.proxy.plan((r) => {
        if (crashedAt) return { kind: 'reset-before' };
        if (r.method !== 'PUT' || !r.key.startsWith('observations/')) return undefined;
        crashedAt = { ...r, fault: 'reset-after' };
        return { kind: 'reset-after' };
      });
      const first = message(lake.newer);

      // Act
      const response = await lake.handler(sqsEvent(first));
      const between = await lakeState(lake.s3);
      const betweenBytes = await lakeSnapshot(lake.s3.lakeDir, 'observations/');
      lake.proxy.plan(undefined);
      tally.faults += lake.proxy.injected;

      // Assess: one month is the newer upload's, whole; the other old months are byte for byte as before
      expect(response).toEqual({ batchItemFailures: [{ itemIdentifier: first.messageId }] });
      const written = crashedAt?.key ?? '';
      expect(MONTHS).toContain(written);
      expect(between.observations[written]).toEqual(cleanState.observations[written]);
      for (const key of MONTHS.filter((k) => k !== written)) expect(betweenBytes[key], key).toBe(before[key]);
      expect(Object.keys(between.observations).sort()).toEqual([...new Set([...Object.keys(beforeState.observations), written])].sort());
      // No ingestion record for the newer upload yet: it is written last.
      expect(between.ingestions).toEqual(beforeState.ingestions);

      // Act: the message comes back after its visibility timeout
      const retry = await lake.handler(sqsEvent(redelivered(first)));

      // Assess
      expect(retry).toEqual({ batchItemFailures: [] });
      expect(await lakeState(lake.s3)).toEqual(cleanState);
    } finally {
      await lake.close();
    }
  });

  it('after a write refused for good, starts no further month and reports the failure only once the started ones ended', async () => {
    // Prepare: the twelve-month seed; its February PUT is refused with 403, which the client does not retry
    const lake = await faultLake();
    try {
      const seed = await putRaw(lake.s3.client, 'uploads/2019.txt', seedText());
      lake.proxy.plan((r) =>
        r.method === 'PUT' && r.key === partitionKey(2019, 2) ? { kind: 'error', status: 403, code: 'AccessDenied' } : undefined,
      );
      const first = message(seed);

      // Act
      const response = await lake.handler(sqsEvent(first));
      const sentByReturn = lake.proxy.requests.length;
      const written = Object.keys((await lakeState(lake.s3)).observations);
      await lake.proxy.idle();

      // Assess
      expect(response).toEqual({ batchItemFailures: [{ itemIdentifier: first.messageId }] });
      expect(lake.proxy.requests.length).toBe(sentByReturn);
      expect(written).not.toContain(partitionKey(2019, 2));
      // Eight months are written at a time: the ones not yet started when February failed stay unwritten.
      expect(written.length).toBeLessThan(11);
      expect(Object.keys((await lakeState(lake.s3)).observations)).toEqual(written);
      tally.faults += lake.proxy.injected;

      // Act
      lake.proxy.plan(undefined);
      const retry = await lake.handler(sqsEvent(redelivered(first)));

      // Assess
      expect(retry).toEqual({ batchItemFailures: [] });
      const state = await lakeState(lake.s3);
      expect(Object.keys(state.observations)).toHaveLength(12);
      expect(Object.values(state.observations).reduce((n, rows) => n + rows.length, 0)).toBe(7430);
    } finally {
      await lake.close();
    }
  });
});
