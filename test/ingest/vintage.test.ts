// "Latest vintage wins" per (dataset, year, month) against a real embedded S3 server: corrections replace, older
// vintages leave newer months alone, and the lake ends the same whatever order uploads are processed in.
import { describe, expect, it } from 'vitest';
import {
  deliverSqs,
  exportText,
  lakeKeys,
  lakeSnapshot,
  partitionHolders,
  partitionKey,
  partitionRows,
  partitionText,
  putRaw,
  queryLake,
  s3Event,
  s3Record,
  seedText,
  seedUpTo,
  startIngestRig,
  type IngestRig,
} from '../helpers/events.ts';

const SEED_MONTHS = Array.from({ length: 12 }, (_, i) => i + 1);
const SEED_PARTITIONS = SEED_MONTHS.map((m) => partitionKey(2019, m));

describe('latest vintage wins per (dataset, year, month)', () => {
  it('a same-period correction replaces every month it covers', async () => {
    // Prepare
    const rig = await startIngestRig();
    const seed = await putRaw(rig.s3.client, 'uploads/2019.txt', seedText());
    await deliverSqs(rig, seed);
    const corrected = seedText().replace('Østfold\t858\t999\t', 'Østfold\t859\t999\t');
    const correction = await putRaw(rig.s3.client, 'uploads/2019 korrigert.txt', corrected);

    // Act
    const response = await rig.handler(s3Event(s3Record(correction)));

    // Assess
    expect(response.outcomes[0]).toMatchObject({ status: 'accepted', ingestion: { records_written: 7430 } });
    expect(
      await queryLake(
        rig,
        "SELECT month, value FROM observations WHERE region = 'Østfold' AND measure_group = 'Opplæring' AND main_group = 'I alt' AND month <= 2 ORDER BY month",
      ),
    ).toEqual([
      { month: 1, value: 859 },
      { month: 2, value: 999 },
    ]);
    expect(await queryLake(rig, 'SELECT count(*) AS n FROM observations')).toEqual([{ n: 7430 }]);
    expect(await partitionHolders(rig)).toEqual(new Set([correction.key]));
  });

  it('a same-vintage correction of one month replaces that month whole and leaves the others alone', async () => {
    // Prepare
    const rig = await startIngestRig();
    await deliverSqs(rig, await putRaw(rig.s3.client, 'uploads/2019.txt', seedText()));
    const before = await lakeSnapshot(rig.lakeDir, 'observations/');
    const december = await putRaw(rig.s3.client, 'uploads/desember.txt', exportText({ year: 2019, firstMonth: 12, lastMonth: 12 }));

    // Act
    const response = await rig.handler(s3Event(s3Record(december)));

    // Assess
    expect(response.outcomes[0]).toMatchObject({
      status: 'accepted',
      ingestion: { source_vintage: '2019-12', partitions: [{ period: '2019-12', records: 4, outcome: 'written' }] },
    });
    const after = await lakeSnapshot(rig.lakeDir, 'observations/');
    for (const key of SEED_PARTITIONS.slice(0, 11)) expect(after[key]).toBe(before[key]);
    expect((await partitionRows(rig.lakeDir, partitionKey(2019, 12))).map((r) => [r.region, r.value, r.source_key])).toEqual([
      ['I alt', 2314, december.key],
      ['Østfold', 112, december.key],
      ['Oslo', 2202, december.key],
      ['Ukjent', null, december.key],
    ]);
    expect(await queryLake(rig, 'SELECT count(*) AS n FROM observations')).toEqual([{ n: 7430 - 619 + 4 }]);
  });

  it('an older vintage uploaded later leaves the newer months alone and is recorded as superseded', async () => {
    // Prepare
    const rig = await startIngestRig();
    const seed = await putRaw(rig.s3.client, 'uploads/2019.txt', seedText());
    await deliverSqs(rig, seed);
    const before = await lakeSnapshot(rig.lakeDir, 'observations/');
    const older = await putRaw(rig.s3.client, 'uploads/2019 mars.txt', seedUpTo(3).replace('Østfold\t858\t', 'Østfold\t1\t'));

    // Act
    const result = await rig.handler(s3Event(s3Record(older)));

    // Assess
    expect(result.outcomes[0]).toMatchObject({
      status: 'superseded',
      ingestion: {
        source_vintage: '2019-03',
        records: 1857,
        records_written: 0,
        partitions: [1, 2, 3].map((m) => ({ period: `2019-0${m}`, records: 619, outcome: 'kept_newer' })),
      },
    });
    expect(await lakeSnapshot(rig.lakeDir, 'observations/')).toEqual(before);
    expect(await queryLake(rig, "SELECT status, source_vintage FROM ingestions WHERE source_key = 'uploads/2019 mars.txt'")).toEqual([
      { status: 'superseded', source_vintage: '2019-03' },
    ]);
  });

  it('a newer vintage replaces the months of an older one', async () => {
    // Prepare
    const rig = await startIngestRig();
    const older = await putRaw(rig.s3.client, 'uploads/2019 mars.txt', seedUpTo(3));
    await deliverSqs(rig, older);
    const newer = await putRaw(rig.s3.client, 'uploads/2019.txt', seedText());

    // Act
    await deliverSqs(rig, newer);

    // Assess
    expect(await queryLake(rig, 'SELECT source_vintage, count(*) AS n FROM observations GROUP BY ALL')).toEqual([
      { source_vintage: '2019-12', n: 7430 },
    ]);
    expect(await partitionHolders(rig)).toEqual(new Set([newer.key]));
  });

  it('an older vintage fills the months a newer one lacks, and the lake ends the same whichever comes first', async () => {
    // Prepare: vintage 2019-04 covers March-April, vintage 2019-03 covers January-March
    const now = () => new Date('2024-05-01T12:00:00.000Z');
    const newerText = exportText({ year: 2019, firstMonth: 3, lastMonth: 4, rows: [['Oslo', [500, 501]]] });
    const olderText = exportText({ year: 2019, firstMonth: 1, lastMonth: 3, rows: [['Oslo', [400, 401, 402]]] });
    const lakes: IngestRig[] = [];
    const outcomes = [];
    for (const order of [
      ['newer', 'older'],
      ['older', 'newer'],
    ] as const) {
      const rig = await startIngestRig({ now });
      const refs = {
        newer: await putRaw(rig.s3.client, 'uploads/mars-april.txt', newerText),
        older: await putRaw(rig.s3.client, 'uploads/januar-mars.txt', olderText),
      };

      // Act
      for (const which of order) outcomes.push((await rig.handler(s3Event(s3Record(refs[which])))).outcomes[0]);
      lakes.push(rig);
    }

    // Assess
    // Newer first: the older one writes January and February and keeps March.
    expect(outcomes[1]).toMatchObject({
      status: 'accepted',
      ingestion: {
        records_written: 4,
        partitions: [
          { period: '2019-01', outcome: 'written' },
          { period: '2019-02', outcome: 'written' },
          { period: '2019-03', outcome: 'kept_newer' },
        ],
      },
    });
    // Older first: the newer one replaces March.
    expect(outcomes[3]).toMatchObject({ status: 'accepted', ingestion: { partitions: [{ outcome: 'written' }, { outcome: 'written' }] } });
    expect(
      await queryLake(lakes[0]!, "SELECT month, value, source_vintage FROM observations WHERE region = 'Oslo' ORDER BY month"),
    ).toEqual([
      { month: 1, value: 400, source_vintage: '2019-03' },
      { month: 2, value: 401, source_vintage: '2019-03' },
      { month: 3, value: 500, source_vintage: '2019-04' },
      { month: 4, value: 501, source_vintage: '2019-04' },
    ]);
    const [a, b] = lakes as [IngestRig, IngestRig];
    expect(await lakeKeys(a.lakeDir, 'observations/')).toEqual(await lakeKeys(b.lakeDir, 'observations/'));
    for (const key of await lakeKeys(a.lakeDir, 'observations/'))
      expect(await partitionText(a.lakeDir, key)).toBe(await partitionText(b.lakeDir, key));
  });

  it('for one vintage the later upload wins even when its event is processed first (event time, then sequencer)', async () => {
    // Prepare
    const rig = await startIngestRig();
    const earlier = await putRaw(
      rig.s3.client,
      'uploads/a.txt',
      exportText({ year: 2019, firstMonth: 12, lastMonth: 12, rows: [['Oslo', [1]]] }),
    );
    const later = await putRaw(
      rig.s3.client,
      'uploads/b.txt',
      exportText({ year: 2019, firstMonth: 12, lastMonth: 12, rows: [['Oslo', [2]]] }),
    );
    // Two uploads of one key: one object, two events whose sequencers order them.
    const sameKeyFirst = await putRaw(
      rig.s3.client,
      'uploads/c.txt',
      exportText({ year: 2020, firstMonth: 1, lastMonth: 1, rows: [['Oslo', [3]]] }),
    );
    const sameKeySecond = await putRaw(
      rig.s3.client,
      'uploads/c.txt',
      exportText({ year: 2020, firstMonth: 1, lastMonth: 1, rows: [['Oslo', [4]]] }),
    );
    // For one key S3's sequencer orders the events, whatever their times say.
    const swapped = { ...sameKeySecond, eventTime: new Date(Date.parse(sameKeyFirst.eventTime) - 60_000).toISOString() };

    // Act
    const outcomes = [];
    for (const u of [later, earlier, swapped, sameKeyFirst]) outcomes.push((await rig.handler(s3Event(s3Record(u)))).outcomes[0]?.status);

    // Assess
    expect(outcomes).toEqual(['accepted', 'superseded', 'accepted', 'superseded']);
    expect(await queryLake(rig, "SELECT period, value, source_key FROM observations WHERE region = 'Oslo' ORDER BY period")).toEqual([
      { period: '2019-12', value: 2, source_key: later.key },
      { period: '2020-01', value: 4, source_key: 'uploads/c.txt' },
    ]);
  });
});
