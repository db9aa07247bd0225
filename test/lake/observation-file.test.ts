// How an upload's rows are held between the parse and the merge: compressed, as the JSON of their cell columns with
// ids for the fields the replacement rules read, and completed at the merge by a provenance tail. The lines a merge
// writes must be exactly the lines the schema's encoder makes of the whole row.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  heldIncomingBatches,
  incomingLines,
  observationLine,
  PartitionBuilder,
  type Provenance,
  sectionKey,
  type StoredObservation,
} from '../../lambdas/lake/observation-file.ts';
import type { Observation } from '../../lambdas/schema/columns.ts';

// Any text JSON can carry: quotes, backslashes, control characters (tab and newline are the held format's own
// separators), non-Latin-1 and lone surrogates.
const text = fc.string({ unit: 'binary', maxLength: 12 });
const observationArb = fc.record({
  dataset: text,
  table_title: text,
  breakdown: text,
  main_group: fc.constantFrom('I alt', 'Tiltak\tA', 'Ø "quoted"'),
  measure_group: fc.constantFrom('Opplæring', 'Line\nbreak', '\\'),
  region: fc.constantFrom('I alt', 'Oslo', 'Troms og Finnmark', 'Romsa ja Finnmárku', '\u0000'),
  region_code: fc.option(fc.constantFrom('03', '54'), { nil: null }),
  year: fc.constantFrom(2019, 2024),
  month: fc.integer({ min: 1, max: 12 }),
  period: text,
  value: fc.option(fc.integer({ min: -1, max: 2_000_000 }), { nil: null }),
  suppressed: fc.boolean(),
  source_key: text,
  source_vintage: text,
  ingested_at: fc.constant(null),
  upload_rank: fc.constant(null),
  section_rank: fc.constant(null),
}) as fc.Arbitrary<Observation>;

const provenanceArb: fc.Arbitrary<Provenance> = fc.record({ sourceKey: text, vintage: text, ingestedAt: text, rank: text });

function stored(r: Observation, p: Provenance, sectionRank: string | null): StoredObservation {
  const { year: _year, month: _month, ...rest } = r;
  return {
    ...rest,
    source_key: p.sourceKey,
    source_vintage: p.vintage,
    ingested_at: p.ingestedAt,
    upload_rank: p.rank,
    section_rank: sectionRank,
  };
}

/** Held as text, compressed, or text until 2 KB and compressed after. */
const HOLD_AS = [undefined, 0, 2048] as const;

async function build(records: Observation[], rawHeldChars?: number) {
  const builder = new PartitionBuilder(rawHeldChars);
  builder.add(records);
  return builder.finish();
}

describe('an upload held for its merge', () => {
  it('gives back every row of each month in order, and merged lines equal the encoder on the whole row', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(observationArb, { maxLength: 60 }),
        provenanceArb,
        fc.option(text, { nil: null }),
        fc.constantFrom(...HOLD_AS),
        async (records, provenance, sectionRank, rawHeldChars) => {
          const line = incomingLines(provenance);

          for (const p of await build(records, rawHeldChars)) {
            const expected = records.filter((r) => r.year === p.year && r.month === p.month);
            const rows = [...heldIncomingBatches(p, provenance.rank)].flat();

            expect(p.records).toBe(expected.length);
            expect(p.sections).toEqual(new Set(expected.map(sectionKey)));
            expect(rows.map((r) => [r.main_group, r.measure_group, r.region, r.upload_rank, r.section_rank])).toEqual(
              expected.map((r) => [r.main_group, r.measure_group, r.region, provenance.rank, null]),
            );
            expect(rows.map((r) => line(r, sectionRank))).toEqual(expected.map((r) => observationLine(stored(r, provenance, sectionRank))));
            expect(rows.map((r) => JSON.parse(line(r, sectionRank)))).toEqual(expected.map((r) => stored(r, provenance, sectionRank)));
          }
        },
      ),
      { numRuns: 300 },
    );
  });

  it.each([
    ['as text', undefined, ['string']],
    ['compressed', 0, ['object']],
    ['as text up to the limit, then compressed', 200_000, ['object', 'string']],
  ])('holds a large month in many pieces %s, and reads them all back', async (_how, rawHeldChars, kinds) => {
    const base: Observation = {
      dataset: 'd',
      table_title: 'T',
      breakdown: 'B',
      main_group: 'I alt',
      measure_group: 'M',
      region: 'Oslo',
      region_code: '03',
      year: 2019,
      month: 1,
      period: '2019-01',
      value: 0,
      suppressed: false,
      source_key: 'k',
      source_vintage: '2019-12',
      ingested_at: null,
      upload_rank: null,
      section_rank: null,
    };
    // Sections come back within the month, as `navlake parse` allows: the same section keeps its id.
    const records = Array.from({ length: 5000 }, (_, i) => ({ ...base, measure_group: `M${i % 7}`, region: `R${i % 19}`, value: i }));

    const [p] = await build(records, rawHeldChars);
    const rows = [...heldIncomingBatches(p!, 'r')].flat();

    expect(p!.held.length).toBeGreaterThan(10);
    expect([...new Set(p!.held.map((piece) => typeof piece))].sort()).toEqual(kinds);
    expect(p!.sectionNames).toHaveLength(7);
    expect(p!.regions).toHaveLength(19);
    expect(rows.map((r) => JSON.parse(`${r.cells}}`).value)).toEqual(records.map((r) => r.value));
    expect(rows.map((r) => r.measure_group)).toEqual(records.map((r) => r.measure_group));
  });
});
