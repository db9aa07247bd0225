// The local lake knows which months it holds without asking S3: under the key's lock it reads the store's files, so a
// month it never held is written without the GET that could only answer NoSuchKey, and one it holds is read as on AWS.
// Asked outside the lock, the answer could be stale by the time of the write, so it is only used under it.
import { describe, expect, it } from 'vitest';
import {
  exportSectionsText,
  exportText,
  type IngestRig,
  partitionKey,
  partitionRows,
  putRaw,
  type SentRequest,
  s3Event,
  s3Record,
  startIngestRig,
} from '../helpers/events.ts';
import { sortedRows } from '../helpers/lake-state.ts';

const MARCH = partitionKey(2019, 3);

function march(value: number, measure = 'Opplæring'): string {
  return exportSectionsText([{ year: 2019, firstMonth: 3, lastMonth: 3, measure, rows: [['Oslo', [value]]] }]);
}

const sentFor = (rig: IngestRig, key: string): string[] =>
  rig.requests
    .filter((r: SentRequest) => r.input.Key === key && (r.command === 'GetObjectCommand' || r.command === 'PutObjectCommand'))
    .map((r) => r.command.replace('ObjectCommand', ''));

const view = (rows: Array<Record<string, unknown>>) => sortedRows(rows).map((r) => [r.measure_group, r.region, r.value, r.source_key]);

describe('a local lake that reads which months it holds from its store', () => {
  it('writes a new month without reading it first, and reads a month it holds before merging into it', async () => {
    // Prepare
    const rig = await startIngestRig({ holds: true });
    const first = await putRaw(rig.s3.client, 'uploads/a.txt', march(1));
    const second = await putRaw(rig.s3.client, 'uploads/b.txt', march(2, 'Avklaringstiltak'));

    // Act
    await rig.handler(s3Event(s3Record(first)));
    const created = sentFor(rig, MARCH);
    rig.requests.length = 0;
    await rig.handler(s3Event(s3Record(second)));

    // Assess
    expect(created).toEqual(['Put']);
    expect(sentFor(rig, MARCH)).toEqual(['Get', 'Put']);
    expect(view(await partitionRows(rig.lakeDir, MARCH))).toEqual([
      ['Avklaringstiltak', 'I alt', 2, second.key],
      ['Avklaringstiltak', 'Oslo', 2, second.key],
      ['Opplæring', 'I alt', 1, first.key],
      ['Opplæring', 'Oslo', 1, first.key],
    ]);
  });

  it('reads every month first when there is no lock to keep the answer true until the write', async () => {
    // Prepare
    const rig = await startIngestRig({ lock: false, holds: true });
    const upload = await putRaw(rig.s3.client, 'uploads/a.txt', exportText({ year: 2019, firstMonth: 3, lastMonth: 3 }));

    // Act
    await rig.handler(s3Event(s3Record(upload)));

    // Assess
    expect(sentFor(rig, MARCH)).toEqual(['Get', 'Put']);
  });

  it('keeps both of two uploads that create the same month at the same time', async () => {
    // Prepare
    const rig = await startIngestRig({ holds: true });
    const measures = ['Opplæring', 'Avklaringstiltak', 'Arbeidsrettet rehabilitering', 'Oppfølging'];
    const uploads = await Promise.all(measures.map((m, i) => putRaw(rig.s3.client, `uploads/${i}.txt`, march(10 + i, m))));

    // Act
    await Promise.all(uploads.map((u) => rig.handler(s3Event(s3Record(u)))));

    // Assess
    const rows = await partitionRows(rig.lakeDir, MARCH);
    expect(new Set(rows.map((r) => r.measure_group))).toEqual(new Set(measures));
    expect(rows).toHaveLength(2 * measures.length);
    expect(sentFor(rig, MARCH).filter((c) => c === 'Get')).toHaveLength(measures.length - 1);
  });
});
