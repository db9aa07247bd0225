// "Latest wins" per section-month (dataset, main group, measure group, month) against a real embedded S3 server:
// corrections replace the sections they bring, older vintages leave newer data alone, the vintage of an export is the
// last month any of its sections covers, and the lake ends the same whatever order uploads are processed in.
import { describe, expect, it } from 'vitest';
import {
  deliverSqs,
  exportSectionsText,
  exportText,
  expectedUploadRank,
  type IngestRig,
  lakeSnapshot,
  partitionHolders,
  partitionKey,
  partitionRows,
  putRaw,
  queryLake,
  s3Event,
  s3Record,
  seedText,
  seedUpTo,
  startIngestRig,
} from '../helpers/events.ts';
import { lakeState, sortedRows } from '../helpers/lake-state.ts';

const SEED_MONTHS = Array.from({ length: 12 }, (_, i) => i + 1);
const SEED_PARTITIONS = SEED_MONTHS.map((m) => partitionKey(2019, m));
const months = (first: number, last: number) => Array.from({ length: last - first + 1 }, (_, i) => first + i);

describe('latest wins per section-month', () => {
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

  it('a same-vintage correction of one section in one month replaces that section-month whole and leaves the rest alone', async () => {
    // Prepare
    const rig = await startIngestRig();
    const seed = await putRaw(rig.s3.client, 'uploads/2019.txt', seedText());
    await deliverSqs(rig, seed);
    const before = await lakeSnapshot(rig.lakeDir, 'observations/');
    const decemberBefore = await partitionRows(rig.lakeDir, partitionKey(2019, 12));
    // The seed's "Opplæring" section (main group "I alt"), restated for December with three regions only. No value is
    // suppressed, so the "I alt" row (2 319) vouches for the section as complete: it lacks the other counties, it is not cut.
    const december = await putRaw(
      rig.s3.client,
      'uploads/desember.txt',
      exportText({
        year: 2019,
        firstMonth: 12,
        lastMonth: 12,
        rows: [
          ['Østfold', [112]],
          ['Oslo', [2202]],
          ['Ukjent', [5]],
        ],
      }),
    );

    // Act
    const response = await rig.handler(s3Event(s3Record(december)));

    // Assess
    expect(response.outcomes[0]).toMatchObject({
      status: 'accepted',
      ingestion: {
        source_vintage: '2019-12',
        records: 4,
        records_written: 4,
        partitions: [{ period: '2019-12', records: 4, written: 4, outcome: 'written' }],
      },
    });
    const after = await lakeSnapshot(rig.lakeDir, 'observations/');
    for (const key of SEED_PARTITIONS.slice(0, 11)) expect(after[key], key).toBe(before[key]);
    const decemberAfter = await partitionRows(rig.lakeDir, partitionKey(2019, 12));
    const isOpplaering = (r: Record<string, unknown>) => r.main_group === 'I alt' && r.measure_group === 'Opplæring';
    // The section holds exactly the correction's four regions: the seed's 21 rows of it (I alt and 20 regions) are gone.
    expect(decemberBefore.filter(isOpplaering)).toHaveLength(21);
    expect(sortedRows(decemberAfter.filter(isOpplaering)).map((r) => [r.region, r.value, r.source_key])).toEqual([
      ['I alt', 2319, december.key],
      ['Oslo', 2202, december.key],
      ['Ukjent', 5, december.key],
      ['Østfold', 112, december.key],
    ]);
    // Every other section of December is the seed's, row for row.
    expect(sortedRows(decemberAfter.filter((r) => !isOpplaering(r)))).toEqual(sortedRows(decemberBefore.filter((r) => !isOpplaering(r))));
    expect(await queryLake(rig, 'SELECT count(*) AS n FROM observations')).toEqual([{ n: 7430 - 21 + 4 }]);
    expect(
      await queryLake(
        rig,
        "SELECT value, source_key FROM observations WHERE month = 12 AND main_group = 'I alt' AND measure_group = 'Avklaringstiltak' AND region = 'Østfold'",
      ),
    ).toEqual([{ value: expect.any(Number), source_key: seed.key }]);
  });

  it('a cut-off correction replaces only the cells it has and deletes none', async () => {
    // Prepare: the same section restated for December, the file cut inside the Oslo row: it brings "I alt", Østfold
    // and Akershus (the cut may have taken digits of Oslo's value, so that one is not read)
    const rig = await startIngestRig();
    const seed = await putRaw(rig.s3.client, 'uploads/2019.txt', seedText());
    await deliverSqs(rig, seed);
    const decemberBefore = await partitionRows(rig.lakeDir, partitionKey(2019, 12));
    const whole = exportText({
      year: 2019,
      firstMonth: 12,
      lastMonth: 12,
      rows: [
        ['Østfold', [113]],
        ['Akershus', [1300]],
        ['Oslo', [2203]],
      ],
    });
    const cut = await putRaw(rig.s3.client, 'uploads/desember avkuttet.txt', whole.slice(0, whole.indexOf('Oslo\t') + 'Oslo\t2'.length));

    // Act
    const response = await rig.handler(s3Event(s3Record(cut)));

    // Assess
    expect(response.outcomes[0]).toMatchObject({
      status: 'accepted',
      ingestion: { records: 3, records_written: 3, partitions: [{ period: '2019-12', records: 3, written: 3, outcome: 'written' }] },
    });
    const decemberAfter = await partitionRows(rig.lakeDir, partitionKey(2019, 12));
    expect(decemberAfter).toHaveLength(619);
    const opplaering = (rows: Array<Record<string, unknown>>) =>
      new Map(
        rows.filter((r) => r.main_group === 'I alt' && r.measure_group === 'Opplæring').map((r) => [r.region, [r.value, r.source_key]]),
      );
    const expected = opplaering(decemberBefore);
    expected.set('I alt', [3616, cut.key]);
    expected.set('Østfold', [113, cut.key]);
    expected.set('Akershus', [1300, cut.key]);
    expect(opplaering(decemberAfter)).toEqual(expected);
    // Oslo keeps the seed's December value, 2 921.
    expect(opplaering(decemberAfter).get('Oslo')).toEqual([2921, seed.key]);
  });

  it('a complete copy older than a cut-off one fills only the cells the cut-off one lacks, and the lake ends the same in either order', async () => {
    // Prepare: the seed (vintage 2019-12) and, uploaded an hour later, the cut-off December correction (also 2019-12);
    // the same identities on two lakes
    const whole = exportText({
      year: 2019,
      firstMonth: 12,
      lastMonth: 12,
      rows: [
        ['Østfold', [113]],
        ['Akershus', [1300]],
        ['Oslo', [2203]],
      ],
    });
    const cutText = whole.slice(0, whole.indexOf('Oslo\t') + 'Oslo\t2'.length);
    const identity = {
      seed: { eventTime: '2024-03-01T10:00:00.000Z', sequencer: '0055AED6DCD9010000' },
      cut: { eventTime: '2024-03-01T11:00:00.000Z', sequencer: '0055AED6DCD9020000' },
    };
    const now = () => new Date('2024-05-01T12:00:00.000Z');
    const states = [];
    let seedOutcome: unknown;
    for (const order of [
      ['seed', 'cut'],
      ['cut', 'seed'],
    ] as const) {
      const rig = await startIngestRig({ now });
      const refs = {
        seed: { ...(await putRaw(rig.s3.client, 'uploads/2019.txt', seedText())), ...identity.seed },
        cut: { ...(await putRaw(rig.s3.client, 'uploads/desember avkuttet.txt', cutText)), ...identity.cut },
      };

      // Act
      for (const which of order) {
        const outcome = (await rig.handler(s3Event(s3Record(refs[which])))).outcomes[0];
        if (order[1] === 'seed' && which === 'seed') seedOutcome = outcome;
      }
      states.push((await lakeState(rig.s3)).observations);
    }

    // Assess: processed second, the seed keeps the cut-off copy's three December cells and writes everything else
    expect(seedOutcome).toMatchObject({
      status: 'accepted',
      ingestion: {
        records: 7430,
        records_written: 7430 - 3,
        partitions: SEED_MONTHS.map((m) =>
          m === 12
            ? { period: '2019-12', records: 619, written: 616, outcome: 'partly_written' }
            : { period: `2019-${String(m).padStart(2, '0')}`, written: m === 1 ? 621 : 619, outcome: 'written' },
        ),
      },
    });
    expect(states[1]).toEqual(states[0]);
    const december = states[0]![partitionKey(2019, 12)]!.filter((r) => r.main_group === 'I alt' && r.measure_group === 'Opplæring');
    expect(december).toHaveLength(21);
    expect(december.filter((r) => r.source_key === 'uploads/desember avkuttet.txt').map((r) => [r.region, r.value])).toEqual([
      ['Akershus', 1300],
      ['I alt', 3616],
      ['Østfold', 113],
    ]);
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
        partitions: [1, 2, 3].map((m) => ({ period: `2019-0${m}`, records: 619, written: 0, outcome: 'kept_newer' })),
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
    // Prepare: vintage 2019-04 covers March-April, vintage 2019-03 covers January-March; the same two uploads (same
    // event times and sequencers) on two lakes
    const now = () => new Date('2024-05-01T12:00:00.000Z');
    const newerText = exportText({ year: 2019, firstMonth: 3, lastMonth: 4, rows: [['Oslo', [500, 501]]] });
    const olderText = exportText({ year: 2019, firstMonth: 1, lastMonth: 3, rows: [['Oslo', [400, 401, 402]]] });
    const identity = {
      newer: { eventTime: '2024-04-01T08:00:00.000Z', sequencer: '0055AED6DCD9030000' },
      older: { eventTime: '2024-04-02T08:00:00.000Z', sequencer: '0055AED6DCD9040000' },
    };
    const lakes: IngestRig[] = [];
    const outcomes = [];
    for (const order of [
      ['newer', 'older'],
      ['older', 'newer'],
    ] as const) {
      const rig = await startIngestRig({ now });
      const refs = {
        newer: { ...(await putRaw(rig.s3.client, 'uploads/mars-april.txt', newerText)), ...identity.newer },
        older: { ...(await putRaw(rig.s3.client, 'uploads/januar-mars.txt', olderText)), ...identity.older },
      };

      // Act
      for (const which of order) outcomes.push((await rig.handler(s3Event(s3Record(refs[which])))).outcomes[0]);
      lakes.push(rig);
    }

    // Assess
    // Newer first: the older one (uploaded later, but an older vintage) writes January and February and keeps March.
    expect(outcomes[1]).toMatchObject({
      status: 'accepted',
      ingestion: {
        records_written: 4,
        partitions: [
          { period: '2019-01', written: 2, outcome: 'written' },
          { period: '2019-02', written: 2, outcome: 'written' },
          { period: '2019-03', written: 0, outcome: 'kept_newer' },
        ],
      },
    });
    // Older first: the newer one replaces March.
    expect(outcomes[3]).toMatchObject({ status: 'accepted', ingestion: { partitions: [{ outcome: 'written' }, { outcome: 'written' }] } });
    const [a, b] = lakes as [IngestRig, IngestRig];
    expect(await queryLake(a, "SELECT month, value, source_vintage FROM observations WHERE region = 'Oslo' ORDER BY month")).toEqual([
      { month: 1, value: 400, source_vintage: '2019-03' },
      { month: 2, value: 401, source_vintage: '2019-03' },
      { month: 3, value: 500, source_vintage: '2019-04' },
      { month: 4, value: 501, source_vintage: '2019-04' },
    ]);
    expect((await lakeState(a.s3)).observations).toEqual((await lakeState(b.s3)).observations);
  });

  it('for one vintage the later event time wins whatever the processing order and the sequencers; equal times fall to the sequencer', async () => {
    // Prepare: three contests, one month each, every competitor of a month with the same vintage
    const rig = await startIngestRig();
    const december = (value: number) => exportText({ year: 2019, firstMonth: 12, lastMonth: 12, rows: [['Oslo', [value]]] });
    const january = (value: number) => exportText({ year: 2020, firstMonth: 1, lastMonth: 1, rows: [['Oslo', [value]]] });
    const february = (value: number) => exportText({ year: 2020, firstMonth: 2, lastMonth: 2, rows: [['Oslo', [value]]] });
    const at = async (key: string, text: string, eventTime: string, sequencer: string) => ({
      ...(await putRaw(rig.s3.client, key, text)),
      eventTime,
      sequencer,
    });
    // 2019-12: b.txt is a second later, with a lower sequencer: the time decides.
    const earlier = await at('uploads/a.txt', december(1), '2024-03-01T10:00:00.000Z', '0055AED6DCD9FF0000');
    const later = await at('uploads/b.txt', december(2), '2024-03-01T10:00:01.000Z', '0055AED6DCD9010000');
    // 2020-01: two uploads of one key; the one with the later event time wins although its sequencer is lower. (The raw
    // bucket keeps no versions, so both events read the second body: which event won shows in the row's upload_rank.)
    const sameKeyLaterTime = await at('uploads/c.txt', january(3), '2024-03-01T11:00:05.000Z', '0055AED6DCDA010000');
    const sameKeyHigherSequencer = await at('uploads/c.txt', january(4), '2024-03-01T11:00:04.000Z', '0055AED6DCDA020000');
    // 2020-02: the same event time; the higher sequencer wins.
    const lowSequencer = await at('uploads/d.txt', february(5), '2024-03-01T12:00:00.000Z', '0055AED6DCDB020000');
    const highSequencer = await at('uploads/e.txt', february(6), '2024-03-01T12:00:00.000Z', '0055AED6DCDB030000');

    // Act: the winners first
    const outcomes = [];
    for (const u of [later, earlier, sameKeyLaterTime, sameKeyHigherSequencer, highSequencer, lowSequencer]) {
      outcomes.push((await rig.handler(s3Event(s3Record(u)))).outcomes[0]?.status);
    }

    // Assess
    expect(outcomes).toEqual(['accepted', 'superseded', 'accepted', 'superseded', 'accepted', 'superseded']);
    expect(
      await queryLake(rig, "SELECT period, value, source_key, upload_rank FROM observations WHERE region = 'Oslo' ORDER BY period"),
    ).toEqual([
      { period: '2019-12', value: 2, source_key: later.key, upload_rank: expectedUploadRank('2019-12', later) },
      // sha256("uploads/c.txt") starts b275a34c9484.
      {
        period: '2020-01',
        value: 4,
        source_key: 'uploads/c.txt',
        upload_rank: '2020-01/2024-03-01T11:00:05.000Z/000000000000000055AED6DCDA010000/b275a34c9484',
      },
      { period: '2020-02', value: 6, source_key: highSequencer.key, upload_rank: expectedUploadRank('2020-02', highSequencer) },
    ]);
  });

  it('with the same vintage, event time and sequencer the larger sha256 of the key wins, in either order', async () => {
    // Prepare: sha256("uploads/x.txt") starts 06bceb30..., sha256("uploads/y.txt") starts 6f8b0a2f...: y.txt is larger.
    const identity = { eventTime: '2024-03-01T10:00:00.000Z', sequencer: '0055AED6DCD9FF0000' };
    const text = (value: number) => exportText({ year: 2019, firstMonth: 12, lastMonth: 12, rows: [['Oslo', [value]]] });
    const results = [];
    for (const order of [
      ['x', 'y'],
      ['y', 'x'],
    ] as const) {
      const rig = await startIngestRig();
      const refs = {
        x: { ...(await putRaw(rig.s3.client, 'uploads/x.txt', text(7))), ...identity },
        y: { ...(await putRaw(rig.s3.client, 'uploads/y.txt', text(8))), ...identity },
      };

      // Act
      for (const which of order) await rig.handler(s3Event(s3Record(refs[which])));
      results.push(await queryLake(rig, "SELECT value, source_key FROM observations WHERE region = 'Oslo'"));
    }

    // Assess
    expect(results).toEqual([[{ value: 8, source_key: 'uploads/y.txt' }], [{ value: 8, source_key: 'uploads/y.txt' }]]);
  });
});

describe('the vintage of a multi-year export', () => {
  /**
   * Østfold 100 + month, Oslo 2000 + 10 x (year - 2000) + month, Ukjent 4 (nothing suppressed, so every total vouches
   * for its section, the last one included: no section is cut off).
   */
  const regionRows = (year: number): Array<[string, number[]]> => [
    ['Østfold', months(1, 12).map((m) => 100 + m)],
    ['Oslo', months(1, 12).map((m) => 2000 + 10 * (year - 2000) + m)],
    ['Ukjent', months(1, 12).map(() => 4)],
  ];
  /** 2018 and 2019, two sections each, in the given order of years: 4 sections x 4 rows x 12 months. */
  const multiYear = (years: [number, number]) =>
    exportSectionsText(
      years.flatMap((year) => [
        { year, firstMonth: 1, lastMonth: 12, rows: regionRows(year) },
        { year, firstMonth: 1, lastMonth: 12, measure: 'Avklaringstiltak', rows: regionRows(year) },
      ]),
    );

  it.each([
    ['2018 sections first', [2018, 2019]],
    ['2019 sections first', [2019, 2018]],
  ] as const)('is the last month any section covers (%s): 2019-12', async (_, years) => {
    // Prepare
    const rig = await startIngestRig();
    const upload = await putRaw(rig.s3.client, 'uploads/2018-2019.txt', multiYear([...years]));

    // Act
    const response = await rig.handler(s3Event(s3Record(upload)));

    // Assess
    expect(response.outcomes[0]).toMatchObject({
      status: 'accepted',
      ingestion: { source_vintage: '2019-12', records: 192, records_written: 192 },
    });
    expect(await queryLake(rig, 'SELECT year, source_vintage, count(*) AS n FROM observations GROUP BY ALL ORDER BY year')).toEqual([
      { year: 2018, source_vintage: '2019-12', n: 96 },
      { year: 2019, source_vintage: '2019-12', n: 96 },
    ]);
  });

  it('an export with 2018 sections before 2019 sections keeps its 2019 values against a later, older Jan-Jun 2019 revision', async () => {
    // Prepare: the multi-year export (vintage 2019-12: its 2019 sections end in December), then a revision of
    // January-June 2019 (vintage 2019-06) uploaded after it, with other values in both sections
    const rig = await startIngestRig();
    const multi = await putRaw(rig.s3.client, 'uploads/tiltak 2018-2019.txt', multiYear([2018, 2019]));
    const revisionRows = (base: number): Array<[string, Array<number | '*'>]> => [
      ['Østfold', months(1, 6).map((m) => base + m)],
      ['Oslo', months(1, 6).map((m) => base + 10 + m)],
      ['Ukjent', months(1, 6).map(() => 5)],
    ];
    const revision = await putRaw(
      rig.s3.client,
      'uploads/tiltak januar-juni 2019.txt',
      exportSectionsText([
        { year: 2019, firstMonth: 1, lastMonth: 6, rows: revisionRows(40) },
        { year: 2019, firstMonth: 1, lastMonth: 6, measure: 'Avklaringstiltak', rows: revisionRows(70) },
      ]),
    );
    await rig.handler(s3Event(s3Record(multi)));
    const before = await lakeSnapshot(rig.lakeDir, 'observations/');

    // Act
    const response = await rig.handler(s3Event(s3Record(revision)));

    // Assess: the revision is older, so nothing of it is written
    expect(response.outcomes[0]).toMatchObject({
      status: 'superseded',
      ingestion: {
        source_vintage: '2019-06',
        records: 2 * 4 * 6,
        records_written: 0,
        partitions: months(1, 6).map((m) => ({ period: `2019-0${m}`, records: 8, written: 0, outcome: 'kept_newer' })),
      },
    });
    expect(await lakeSnapshot(rig.lakeDir, 'observations/')).toEqual(before);
    expect(
      await queryLake(
        rig,
        `SELECT month, measure_group, value, source_key, source_vintage FROM observations
         WHERE year = 2019 AND month <= 6 AND region = 'Oslo' ORDER BY month, measure_group`,
      ),
    ).toEqual(
      months(1, 6).flatMap((m) =>
        ['Avklaringstiltak', 'Opplæring'].map((measure_group) => ({
          month: m,
          measure_group,
          value: 2190 + m,
          source_key: multi.key,
          source_vintage: '2019-12',
        })),
      ),
    );
    expect(await queryLake(rig, 'SELECT count(*) AS n, count(DISTINCT source_key) AS keys FROM observations')).toEqual([
      { n: 192, keys: 1 },
    ]);
  });

  it('the same two uploads processed the other way round end in the same lake', async () => {
    // Prepare: the revision first this time; the same event times and sequencers in both lakes
    const revisionText = exportSectionsText([
      { year: 2019, firstMonth: 1, lastMonth: 6, rows: [['Oslo', months(1, 6).map((m) => 50 + m)]] },
      { year: 2019, firstMonth: 1, lastMonth: 6, measure: 'Avklaringstiltak', rows: [['Oslo', months(1, 6).map((m) => 60 + m)]] },
    ]);
    const identity = {
      multi: { eventTime: '2024-03-01T10:00:00.000Z', sequencer: '0055AED6DCD9010000' },
      revision: { eventTime: '2024-03-02T10:00:00.000Z', sequencer: '0055AED6DCD9020000' },
    };
    const states = [];
    for (const order of [
      ['multi', 'revision'],
      ['revision', 'multi'],
    ] as const) {
      const rig = await startIngestRig();
      const refs = {
        multi: { ...(await putRaw(rig.s3.client, 'uploads/tiltak 2018-2019.txt', multiYear([2018, 2019]))), ...identity.multi },
        revision: { ...(await putRaw(rig.s3.client, 'uploads/tiltak januar-juni 2019.txt', revisionText)), ...identity.revision },
      };

      // Act
      for (const which of order) await rig.handler(s3Event(s3Record(refs[which])));
      states.push((await lakeState(rig.s3)).observations);
    }

    // Assess
    expect(states[1]).toEqual(states[0]);
    const oslo = Object.values(states[0]!)
      .flat()
      .filter(
        (r) => r.region === 'Oslo' && r.measure_group === 'Opplæring' && String(r.period) <= '2019-06' && String(r.period) >= '2019-01',
      );
    expect(oslo.map((r) => [r.period, r.value, r.source_vintage])).toEqual(months(1, 6).map((m) => [`2019-0${m}`, 2190 + m, '2019-12']));
  });
});
