/**
 * A partition's rows as stored: gzip NDJSON holding the schema's data columns in schema order (year and month live
 * in the partition path). While an upload is parsed its rows are held until it is merged into the lake: past the
 * first RAW_HELD_CHARS of them, compressed as they arrive.
 */
import { gunzipSync, gzipSync } from 'node:zlib';
import { dataColumns, OBSERVATIONS_TABLE, type Observation } from '../schema/columns.ts';
import { jsonLineEncoder } from '../schema/json-line.ts';

/** A row as stored in a partition object: the partition columns live in its path. */
export type StoredObservation = Omit<Observation, 'year' | 'month'>;

const COLUMNS = dataColumns(OBSERVATIONS_TABLE).map((c) => c.name) as Array<keyof StoredObservation>;
const FLUSH_CHARS = 32 * 1024;
/**
 * The parser's rows are compressed only to be held until the merge decompresses them again, never stored as they are:
 * on a 4 MB export (735k rows) the fastest level holds 12.8 MB where level 6 holds 11.8 MB, and building them takes
 * 2.9 s instead of 4.2 s.
 */
const HOLD_LEVEL = 1;
/**
 * Up to this much of an upload's rows is held as text: a monthly export (7,430 values, 2.8M characters of rows) is
 * never compressed only to be decompressed again, which was a tenth of `navlake ingest`; a 4 MB one (735k values)
 * holds the rest compressed, so it keeps to about 20 MB rather than 300.
 */
const RAW_HELD_CHARS = 4 * 1024 * 1024;

/** One JSON line of a record: only the data columns, in schema order. */
export const observationLine: (r: StoredObservation) => string = jsonLineEncoder(COLUMNS);

/**
 * What a merge adds to an upload's rows. The schema keeps these columns last, so a stored line is the row's other
 * columns, encoded once while the upload is parsed, followed by this tail, made once per upload and section rank:
 * a merge never parses or re-encodes an incoming row.
 */
const PROVENANCE_COLUMNS = ['source_key', 'source_vintage', 'ingested_at', 'upload_rank', 'section_rank'] as const;
if (COLUMNS.slice(-PROVENANCE_COLUMNS.length).join() !== PROVENANCE_COLUMNS.join()) {
  throw new Error(`the observations schema must end with ${PROVENANCE_COLUMNS.join(', ')}: merges append them to held rows`);
}
const cellsLine = jsonLineEncoder(COLUMNS.slice(0, -PROVENANCE_COLUMNS.length));
const provenanceLine = jsonLineEncoder(PROVENANCE_COLUMNS);

/** An upload's provenance, which every row it brings to the lake carries. */
export interface Provenance {
  sourceKey: string;
  vintage: string;
  ingestedAt: string;
  rank: string;
}

/** A row of the upload being merged: what the replacement rules look at, and its JSON line up to the provenance. */
export interface IncomingRow {
  main_group: string;
  measure_group: string;
  region: string;
  upload_rank: string;
  section_rank: null;
  /** The line's columns before the provenance columns: `{"dataset":…,"suppressed":…` (no closing brace). */
  cells: string;
}

/** The JSON lines of an upload's rows: `line(row, sectionRank)` equals observationLine of the row with `p` set. */
export function incomingLines(p: Provenance): (row: IncomingRow, sectionRank: string | null) => string {
  const tails = new Map<string | null, string>();
  return (row, sectionRank) => {
    let tail = tails.get(sectionRank);
    if (tail === undefined) {
      const provenance = {
        source_key: p.sourceKey,
        source_vintage: p.vintage,
        ingested_at: p.ingestedAt,
        upload_rank: p.rank,
        section_rank: sectionRank,
      };
      tail = `,${provenanceLine(provenance).slice(1)}`;
      tails.set(sectionRank, tail);
    }
    return row.cells + tail;
  };
}

/**
 * A row of the lake as a merge holds it: what the replacement rules look at, and the line it was read from. A month
 * can hold hundreds of thousands of rows; keeping the line rather than the parsed row keeps that to ~1 KB a row.
 */
export interface HeldRow {
  main_group: string;
  measure_group: string;
  region: string;
  upload_rank: string | null;
  section_rank: string | null;
  line: string;
}

/** Rows written before ranks existed came from whole-month replacements: they rank by their vintage alone. */
function earlierReleaseRank(vintage: string): string {
  return `${vintage}/`;
}

/** The rows of a stored partition object (gzip NDJSON), as a merge holds them. */
export function readHeldRows(gz: Uint8Array): HeldRow[] {
  const text = gunzipSync(gz).toString('utf8');
  const rows: HeldRow[] = [];
  // Every row of a month repeats a few section names and ranks: one copy of each.
  const strings = new Map<string, string>();
  const one = (s: string | null): string | null => {
    if (s === null) return null;
    const known = strings.get(s);
    if (known !== undefined) return known;
    strings.set(s, s);
    return s;
  };
  let start = 0;
  while (start < text.length) {
    let end = text.indexOf('\n', start);
    if (end === -1) end = text.length;
    if (end > start) {
      const line = text.slice(start, end);
      const r = JSON.parse(line) as StoredObservation;
      const legacy = r.upload_rank == null ? earlierReleaseRank(r.source_vintage) : null;
      rows.push({
        main_group: one(r.main_group) as string,
        measure_group: one(r.measure_group) as string,
        region: one(r.region) as string,
        upload_rank: one(legacy ?? r.upload_rank),
        section_rank: one(legacy ?? r.section_rank ?? null),
        line,
      });
    }
    start = end + 1;
  }
  return rows;
}

/** The JSON line of a held row with the section_rank it must carry. */
export function heldLine(r: HeldRow, sectionRank: string | null): string {
  if (sectionRank === r.section_rank && r.upload_rank !== null && !r.upload_rank.endsWith('/')) return r.line;
  const row = JSON.parse(r.line) as StoredObservation;
  row.upload_rank = r.upload_rank;
  row.section_rank = sectionRank;
  return observationLine(row);
}

/** The section a row belongs to for replacement: main group and measure group (the breakdown line may change). */
export function sectionKey(r: Pick<Observation, 'main_group' | 'measure_group'>): string {
  return `${r.main_group}\u0000${r.measure_group}`;
}

export interface EncodedPartition {
  year: number;
  month: number;
  records: number;
  /**
   * The parser's rows as pieces of whole lines `<section id>\t<region id>\t<cells>`, where the ids index
   * `sectionNames` and `regions` and `cells` is IncomingRow.cells: text, or a gzip member of it past RAW_HELD_CHARS.
   */
  held: ReadonlyArray<string | Buffer>;
  /** Sections (sectionKey) with rows in this month. */
  sections: ReadonlySet<string>;
  sectionNames: ReadonlyArray<readonly [mainGroup: string, measureGroup: string]>;
  regions: readonly string[];
}

/** The upload's rows for a partition, a batch per piece held (about FLUSH_CHARS of text). */
export function* heldIncomingBatches(p: EncodedPartition, rank: string): Generator<IncomingRow[]> {
  for (const piece of p.held) {
    const text = typeof piece === 'string' ? piece : gunzipSync(piece).toString('utf8');
    const batch: IncomingRow[] = [];
    let start = 0;
    while (start < text.length) {
      const sectionEnd = text.indexOf('\t', start);
      const regionEnd = text.indexOf('\t', sectionEnd + 1);
      let end = text.indexOf('\n', regionEnd + 1);
      if (end === -1) end = text.length;
      const [mainGroup, measureGroup] = p.sectionNames[Number(text.slice(start, sectionEnd))] as readonly [string, string];
      batch.push({
        main_group: mainGroup,
        measure_group: measureGroup,
        region: p.regions[Number(text.slice(sectionEnd + 1, regionEnd))] as string,
        upload_rank: rank,
        section_rank: null,
        cells: text.slice(regionEnd + 1, end),
      });
      start = end + 1;
    }
    yield batch;
  }
}

interface OpenPartition {
  year: number;
  month: number;
  records: number;
  pending: string;
  chunks: Array<string | Buffer>;
  /** By sectionKey; a section can come back within a month (`navlake parse` allows repeated sections). */
  sectionIds: Map<string, number>;
  sectionNames: Array<readonly [string, string]>;
  regionIds: Map<string, number>;
  lastMain: string;
  lastMeasure: string;
  /** Id of the section of the last row added (rows arrive section by section). */
  sectionId: number;
}

/**
 * Splits records into (year, month) partitions. Each partition's pending text is set aside once it reaches
 * FLUSH_CHARS, past RAW_HELD_CHARS compressed as its own gzip member, so no compressor stays open per partition: an
 * export covering a thousand months holds a thousand small strings, not a thousand zlib states (~256 KB each).
 */
export class PartitionBuilder {
  private readonly open = new Map<number, OpenPartition>();
  private rawChars = 0;

  /** `rawHeldChars`: how much to hold as text before compressing (tests set it low). */
  constructor(private readonly rawHeldChars = RAW_HELD_CHARS) {}

  add(records: readonly Observation[]): void {
    for (const r of records) {
      const p = this.partition(r.year, r.month);
      // Rows arrive section by section: a lookup per section change, not per value.
      if (r.main_group !== p.lastMain || r.measure_group !== p.lastMeasure) {
        p.lastMain = r.main_group;
        p.lastMeasure = r.measure_group;
        const key = sectionKey(r);
        let id = p.sectionIds.get(key);
        if (id === undefined) {
          id = p.sectionNames.push([r.main_group, r.measure_group]) - 1;
          p.sectionIds.set(key, id);
        }
        p.sectionId = id;
      }
      let regionId = p.regionIds.get(r.region);
      if (regionId === undefined) {
        regionId = p.regionIds.size;
        p.regionIds.set(r.region, regionId);
      }
      const cells = cellsLine(r);
      p.pending += `${p.sectionId}\t${regionId}\t${cells.slice(0, -1)}\n`;
      p.records++;
      if (p.pending.length >= FLUSH_CHARS) this.setAside(p);
    }
  }

  /** Closes every partition; sorted by period. */
  async finish(): Promise<EncodedPartition[]> {
    const parts = [...this.open.values()].sort((a, b) => a.year - b.year || a.month - b.month);
    this.open.clear();
    return parts.map((p) => {
      if (p.pending.length > 0) this.setAside(p);
      return {
        year: p.year,
        month: p.month,
        records: p.records,
        held: p.chunks,
        sections: new Set(p.sectionIds.keys()),
        sectionNames: p.sectionNames,
        regions: [...p.regionIds.keys()],
      };
    });
  }

  /** Drops what was built when the upload is abandoned (a parse error). */
  discard(): void {
    this.open.clear();
  }

  private setAside(p: OpenPartition): void {
    if (this.rawChars + p.pending.length <= this.rawHeldChars) {
      this.rawChars += p.pending.length;
      p.chunks.push(p.pending);
    } else {
      p.chunks.push(gzipSync(p.pending, { level: HOLD_LEVEL }));
    }
    p.pending = '';
  }

  private partition(year: number, month: number): OpenPartition {
    const id = year * 100 + month;
    let p = this.open.get(id);
    if (!p) {
      p = {
        year,
        month,
        records: 0,
        pending: '',
        chunks: [],
        sectionIds: new Map(),
        sectionNames: [],
        regionIds: new Map(),
        lastMain: '',
        lastMeasure: '',
        sectionId: -1,
      };
      this.open.set(id, p);
    }
    return p;
  }
}
