/**
 * JSON lines for rows of a known shape, byte-identical to JSON.stringify of an object with those keys in that order.
 * Exports repeat a few dozen strings (titles, groups, counties, periods) hundreds of thousands of times, so each
 * string's JSON form is made once and reused; keys are encoded once per encoder. This is most of the CPU time of
 * writing a partition and of `navlake parse`.
 */

/** Distinct strings remembered per column; past this the column's cache starts again, so memory stays bounded. */
const MAX_CACHED_PER_COLUMN = 4096;

export type JsonLineEncoder<K extends string> = (row: Readonly<Partial<Record<K, unknown>>>) => string;

export interface JsonLineOptions {
  /**
   * `utf8-as-latin1`: each character of the line is one byte of its UTF-8 encoding, for `buffer.write(line, 'latin1')`.
   * Encoding a line with å or Ø in it to UTF-8 takes V8's slow path, three times the time of a Latin-1 copy; here
   * each distinct string is encoded once, when it is first cached.
   */
  encoding?: 'text' | 'utf8-as-latin1';
}

/**
 * `names` in output order. A missing or undefined value is written as null (the lake's files always carry every
 * column); bigints, which JSON.stringify refuses, are written as numbers when exact and as strings otherwise.
 */
export function jsonLineEncoder<K extends string>(names: readonly K[], options: JsonLineOptions = {}): JsonLineEncoder<K> {
  const bytes = options.encoding === 'utf8-as-latin1';
  const json = bytes ? (v: unknown) => Buffer.from(JSON.stringify(v), 'utf8').toString('latin1') : JSON.stringify;
  const prefixes = names.map((n, i) => `${i === 0 ? '{' : ','}${json(n)}:`);
  const caches = names.map(() => new Map<string, string>());
  const value = (v: unknown, cache: Map<string, string>): string => {
    switch (typeof v) {
      case 'string': {
        let encoded = cache.get(v);
        if (encoded === undefined) {
          if (cache.size >= MAX_CACHED_PER_COLUMN) cache.clear();
          encoded = json(v);
          cache.set(v, encoded);
        }
        return encoded;
      }
      case 'number':
        return Number.isFinite(v) ? String(v) : 'null';
      case 'boolean':
        return v ? 'true' : 'false';
      case 'undefined':
        return 'null';
      case 'bigint':
        return Number.isSafeInteger(Number(v)) ? String(v) : json(v.toString());
      default:
        return v === null ? 'null' : json(v);
    }
  };
  return (row) => {
    let line = '';
    for (let i = 0; i < names.length; i++) {
      line += prefixes[i] as string;
      line += value(row[names[i] as K], caches[i] as Map<string, string>);
    }
    return `${line}}`;
  };
}
