/**
 * A partition's rows as stored: gzip NDJSON holding the schema's data columns in schema order (year and month live
 * in the partition path). Rows keep the export's order (section, row, month), which is deterministic for a given
 * file; they are compressed as they arrive, so an upload is held in memory only in its compressed form.
 */
import { createGzip, type Gzip } from 'node:zlib';
import { OBSERVATIONS_TABLE, dataColumns, type Observation } from '../schema/columns.ts';

const COLUMNS = dataColumns(OBSERVATIONS_TABLE).map((c) => c.name) as Array<keyof Observation>;
const FLUSH_CHARS = 64 * 1024;

/** One JSON line of a record: only the data columns. */
export function observationLine(r: Observation): string {
  const row: Record<string, unknown> = {};
  for (const c of COLUMNS) row[c] = r[c];
  return JSON.stringify(row);
}

export interface EncodedPartition {
  year: number;
  month: number;
  records: number;
  body: Buffer;
}

interface OpenPartition {
  year: number;
  month: number;
  records: number;
  pending: string;
  gzip: Gzip;
  chunks: Buffer[];
  done: Promise<void>;
}

/** Splits records into (year, month) partitions and gzips each as it goes. */
export class PartitionBuilder {
  private readonly open = new Map<number, OpenPartition>();

  add(records: readonly Observation[]): void {
    for (const r of records) {
      const p = this.partition(r.year, r.month);
      p.pending += `${observationLine(r)}\n`;
      p.records++;
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
    return parts.map((p) => ({ year: p.year, month: p.month, records: p.records, body: Buffer.concat(p.chunks) }));
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
      p = { year, month, records: 0, pending: '', gzip, chunks, done };
      this.open.set(id, p);
    }
    return p;
  }
}
