/**
 * A partition's rows as stored: gzip NDJSON holding the schema's data columns in schema order (year and month live
 * in the partition path). While an upload is parsed its rows are compressed as they arrive, so it is held in memory
 * only in compressed form until it is merged into the lake.
 */
import { createGzip, type Gzip, gunzipSync } from 'node:zlib';
import { dataColumns, OBSERVATIONS_TABLE, type Observation } from '../schema/columns.ts';

/** A row as stored in a partition object: the partition columns live in its path. */
export type StoredObservation = Omit<Observation, 'year' | 'month'>;

const COLUMNS = dataColumns(OBSERVATIONS_TABLE).map((c) => c.name) as Array<keyof StoredObservation>;
const FLUSH_CHARS = 64 * 1024;

/** One JSON line of a record: only the data columns, in schema order. */
export function observationLine(r: StoredObservation): string {
  const row: Record<string, unknown> = {};
  for (const c of COLUMNS) row[c] = r[c] ?? null;
  return JSON.stringify(row);
}

/** The line each row was read from, so that a row kept unchanged is written back without serialising it again. */
const sourceLines = new WeakMap<StoredObservation, string>();

/** The JSON line of a row: the line it was read from if it has one, else a new one. */
export function storedLine(r: StoredObservation): string {
  return sourceLines.get(r) ?? observationLine(r);
}

/** The rows of a stored partition object (gzip NDJSON). */
export function readObservationLines(gz: Uint8Array): StoredObservation[] {
  const text = gunzipSync(gz).toString('utf8');
  const rows: StoredObservation[] = [];
  let start = 0;
  while (start < text.length) {
    let end = text.indexOf('\n', start);
    if (end === -1) end = text.length;
    if (end > start) {
      const line = text.slice(start, end);
      const row = JSON.parse(line) as StoredObservation;
      sourceLines.set(row, line);
      rows.push(row);
    }
    start = end + 1;
  }
  return rows;
}

/** The section a row belongs to for replacement: main group and measure group (the breakdown line may change). */
export function sectionKey(r: Pick<Observation, 'main_group' | 'measure_group'>): string {
  return `${r.main_group}\u0000${r.measure_group}`;
}

export interface EncodedPartition {
  year: number;
  month: number;
  records: number;
  /** gzip NDJSON of the parser's rows; provenance columns are set when the partition is merged into the lake. */
  body: Buffer;
  /** Sections (sectionKey) with rows in this month. */
  sections: ReadonlySet<string>;
}

interface OpenPartition {
  year: number;
  month: number;
  records: number;
  pending: string;
  gzip: Gzip;
  chunks: Buffer[];
  done: Promise<void>;
  sections: Set<string>;
  lastMain: string;
  lastMeasure: string;
}

/** Splits records into (year, month) partitions and gzips each as it goes. */
export class PartitionBuilder {
  private readonly open = new Map<number, OpenPartition>();

  add(records: readonly Observation[]): void {
    for (const r of records) {
      const p = this.partition(r.year, r.month);
      p.pending += `${observationLine(r)}\n`;
      p.records++;
      // Rows arrive section by section: a key per section change, not per value.
      if (r.main_group !== p.lastMain || r.measure_group !== p.lastMeasure) {
        p.lastMain = r.main_group;
        p.lastMeasure = r.measure_group;
        p.sections.add(sectionKey(r));
      }
      if (p.pending.length >= FLUSH_CHARS) {
        p.gzip.write(p.pending);
        p.pending = '';
      }
    }
  }

  /** Closes every partition; sorted by period. */
  async finish(): Promise<EncodedPartition[]> {
    const parts = [...this.open.values()].sort((a, b) => a.year - b.year || a.month - b.month);
    for (const p of parts) p.gzip.end(p.pending);
    await Promise.all(parts.map((p) => p.done));
    this.open.clear();
    return parts.map((p) => ({ year: p.year, month: p.month, records: p.records, body: Buffer.concat(p.chunks), sections: p.sections }));
  }

  /** Releases the compressors when the upload is abandoned (a parse error). */
  discard(): void {
    for (const p of this.open.values()) p.gzip.destroy();
    this.open.clear();
  }

  private partition(year: number, month: number): OpenPartition {
    const id = year * 100 + month;
    let p = this.open.get(id);
    if (!p) {
      const gzip = createGzip({ level: 6 });
      const chunks: Buffer[] = [];
      gzip.on('data', (c: Buffer) => chunks.push(c));
      const done = new Promise<void>((resolve, reject) => {
        gzip.once('end', resolve);
        gzip.once('error', reject);
      });
      // Rejections are awaited in finish(); without a handler a discarded upload would crash the process.
      done.catch(() => undefined);
      p = { year, month, records: 0, pending: '', gzip, chunks, done, sections: new Set(), lastMain: '', lastMeasure: '' };
      this.open.set(id, p);
    }
    return p;
  }
}
