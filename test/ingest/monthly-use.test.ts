// Ordinary monthly use, as a user does it: a full export, then a cut-off re-download, a partial export, a restated
// section, a broken file. Each case once lost or corrupted data while every command reported success. Counts come
// from the fixture's text: 7,430 values; its "Fylke og tiltaksgruppe" breakdown is the first nine sections.
import { describe, expect, it } from 'vitest';
import {
  deliverSqs,
  ingestionRecords,
  putRaw,
  queryLake,
  SEED_TITLE,
  seedText,
  startIngestRig,
  type IngestRig,
} from '../helpers/events.ts';

const SEED_RECORDS = 7430;

async function count(rig: IngestRig, where = 'true'): Promise<number> {
  const rows = await queryLake(rig, `SELECT count(*) AS n FROM observations WHERE ${where}`);
  return Number(rows[0]?.n);
}

/** Every (cell, value) of the lake, for "unchanged" comparisons that ignore which upload holds a value. */
async function values(rig: IngestRig): Promise<string[]> {
  const rows = await queryLake(
    rig,
    `SELECT main_group || '|' || measure_group || '|' || region || '|' || period || '|' || coalesce(CAST(value AS VARCHAR), '*') AS v
     FROM observations ORDER BY v`,
  );
  return rows.map((r) => String(r.v));
}

async function ingest(rig: IngestRig, key: string, text: string) {
  const ref = await putRaw(rig.s3.client, key, text);
  const response = await deliverSqs(rig, ref);
  expect(response.batchItemFailures).toEqual([]);
  return ref;
}

/** The seed's sections of its first breakdown only: everything before the first "Fylke, hovedgrupper" section. */
function firstBreakdownOnly(): string {
  const text = seedText();
  const at = text.indexOf('Fylke, hovedgrupper og tiltaksgrupper');
  return text.slice(0, text.lastIndexOf(SEED_TITLE, at));
}

describe('ordinary monthly use loses nothing', () => {
  it('a cut-off re-download of the same export (head -c 20000) leaves every value in place', async () => {
    // Prepare
    const rig = await startIngestRig();
    await ingest(rig, 'exports/2019.txt', seedText());
    const before = await values(rig);
    const cut = Buffer.from(seedText(), 'utf8').subarray(0, 20000);

    // Act
    await ingest(rig, 'exports/2019 again.txt', cut.toString('utf8'));

    // Assess
    expect(await count(rig)).toBe(SEED_RECORDS);
    expect(await values(rig)).toEqual(before);
    // The re-download's complete sections now hold their section-months; it did not just get ignored.
    expect(await count(rig, `source_key = 'exports/2019 again.txt'`)).toBeGreaterThan(0);
    const [record] = (await ingestionRecords(rig)).filter((i) => i.source_key === 'exports/2019 again.txt');
    expect(record?.status).toBe('accepted');
    expect(record?.warnings.some((w) => w.startsWith('CUT_OFF'))).toBe(true);
  });

  it('the cut-off re-download first and the full export after give the same lake', async () => {
    const rig = await startIngestRig();
    await ingest(rig, 'exports/2019 cut.txt', Buffer.from(seedText(), 'utf8').subarray(0, 20000).toString('utf8'));
    await ingest(rig, 'exports/2019.txt', seedText());

    expect(await count(rig)).toBe(SEED_RECORDS);
    expect(await count(rig, `source_key = 'exports/2019.txt'`)).toBe(SEED_RECORDS);
  });

  it('a complete export of only the first breakdown replaces those sections and leaves the other breakdown alone', async () => {
    // Prepare
    const rig = await startIngestRig();
    await ingest(rig, 'exports/2019.txt', seedText());
    const before = await values(rig);

    // Act
    await ingest(rig, 'exports/2019 fylke og tiltaksgruppe.txt', firstBreakdownOnly());

    // Assess
    expect(await count(rig)).toBe(SEED_RECORDS);
    expect(await values(rig)).toEqual(before);
    const bySource = await queryLake(
      rig,
      `SELECT source_key, list(DISTINCT main_group ORDER BY main_group) AS mains FROM observations GROUP BY source_key ORDER BY source_key`,
    );
    expect(bySource).toEqual([
      { source_key: 'exports/2019 fylke og tiltaksgruppe.txt', mains: ['I alt'] },
      { source_key: 'exports/2019.txt', mains: ['Andre', 'Arbeidssøkere', 'Nedsatt arbeidsevne'] },
    ]);
  });

  it('a restated section that drops a region replaces the section-month wholesale: no stale row is left', async () => {
    // Prepare: the same export again, uploaded later, its first section without the "Ukjent" row.
    const rig = await startIngestRig();
    await ingest(rig, 'exports/2019.txt', seedText());
    const text = seedText();
    const firstUkjent = text.indexOf('\nUkjent\t');
    const restated = text.slice(0, firstUkjent) + text.slice(text.indexOf('\n', firstUkjent + 1));

    // Act
    await ingest(rig, 'exports/2019 restated.txt', restated);

    // Assess: the 12 monthly values of Opplæring / Ukjent are gone, nothing else.
    expect(await count(rig, `main_group = 'I alt' AND measure_group = 'Opplæring' AND region = 'Ukjent'`)).toBe(0);
    expect(await count(rig)).toBe(SEED_RECORDS - 12);
  });

  it('an export with a county listed twice in a section is rejected and the lake keeps what it had', async () => {
    // Prepare
    const rig = await startIngestRig();
    await ingest(rig, 'exports/2019.txt', seedText());
    const before = await values(rig);
    const text = seedText();
    const oslo = text.indexOf('\nOslo\t');
    const osloLine = text.slice(oslo, text.indexOf('\n', oslo + 1));
    const doubled = text.slice(0, oslo) + osloLine + text.slice(oslo);

    // Act
    await ingest(rig, 'exports/2019 doubled.txt', doubled);

    // Assess
    expect(await values(rig)).toEqual(before);
    const [record] = (await ingestionRecords(rig)).filter((i) => i.source_key === 'exports/2019 doubled.txt');
    expect(record).toMatchObject({ status: 'rejected', error_code: 'DUPLICATE_REGION', records_written: 0 });
  });

  it('an export missing the title line before its second section is rejected and the lake keeps what it had', async () => {
    // Prepare
    const rig = await startIngestRig();
    await ingest(rig, 'exports/2019.txt', seedText());
    const before = await values(rig);
    const text = seedText();
    const second = text.indexOf(`\n${SEED_TITLE}\n`, text.indexOf('I alt opplæring'));
    const untitled = text.slice(0, second) + text.slice(second + SEED_TITLE.length + 1);

    // Act
    await ingest(rig, 'exports/2019 untitled.txt', untitled);

    // Assess
    expect(await values(rig)).toEqual(before);
    const [record] = (await ingestionRecords(rig)).filter((i) => i.source_key === 'exports/2019 untitled.txt');
    expect(record).toMatchObject({ status: 'rejected', records_written: 0 });
  });

  it('two tables whose titles differ only after the 120th character stay two datasets', async () => {
    // Prepare
    const rig = await startIngestRig();
    const stem = `${SEED_TITLE} ${'med en svært lang tilleggstekst '.repeat(4)}`;
    expect(stem.length).toBeGreaterThan(120);
    const section = seedText().slice(seedText().indexOf('\nFylke og tiltaksgruppe'));
    const first = `${stem}A${section.split(SEED_TITLE).join(`${stem}A`)}`;
    const second = `${stem}B${section.split(SEED_TITLE).join(`${stem}B`)}`;

    // Act
    await ingest(rig, 'exports/a.txt', first);
    await ingest(rig, 'exports/b.txt', second);

    // Assess
    const datasets = await queryLake(rig, 'SELECT DISTINCT dataset, table_title FROM observations ORDER BY table_title');
    expect(datasets).toHaveLength(2);
    expect(new Set(datasets.map((d) => d.dataset)).size).toBe(2);
  });
});
