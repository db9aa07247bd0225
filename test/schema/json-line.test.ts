import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { jsonLineEncoder } from '../../lambdas/schema/json-line.ts';

const NAMES = ['a', 'b "quoted"', 'c\u00e6', 'd'] as const;

const scalar = fc.oneof(
  fc.string({ unit: 'binary' }),
  fc.constantFrom('I alt', 'Østfold', '2019-01', '', '\u2028', '"\\'),
  fc.double(),
  fc.integer(),
  fc.boolean(),
  fc.constant(null),
  fc.date({ noInvalidDate: true }),
);

describe('jsonLineEncoder', () => {
  it('writes what JSON.stringify writes for the same keys in the same order, whatever the values', () => {
    const encode = jsonLineEncoder(NAMES);
    fc.assert(
      fc.property(fc.array(fc.tuple(scalar, scalar, scalar, scalar), { minLength: 1, maxLength: 20 }), (rows) => {
        for (const [a, b, c, d] of rows) {
          const row = { a, 'b "quoted"': b, 'c\u00e6': c, d };
          expect(encode(row)).toBe(JSON.stringify(row));
        }
      }),
    );
  });

  it('in utf8-as-latin1 form, gives the UTF-8 bytes of the same JSON, one per character', () => {
    const encode = jsonLineEncoder(NAMES, { encoding: 'utf8-as-latin1' });
    fc.assert(
      fc.property(fc.tuple(scalar, scalar, scalar, scalar), ([a, b, c, d]) => {
        const row = { a, 'b "quoted"': b, 'c\u00e6': c, d };
        const line = encode(row);
        expect(Buffer.from(line, 'latin1').toString('utf8')).toBe(JSON.stringify(row));
        expect(Buffer.byteLength(line, 'latin1')).toBe(line.length);
      }),
    );
  });

  it('writes missing values as null and keeps the column order, not the row order', () => {
    const encode = jsonLineEncoder(['x', 'y', 'z']);
    expect(encode({ z: 1, x: 'a' })).toBe('{"x":"a","y":null,"z":1}');
  });

  it('writes exact bigints as numbers and larger ones as strings', () => {
    const encode = jsonLineEncoder(['n', 'big']);
    expect(encode({ n: 7430n, big: 2n ** 60n })).toBe(`{"n":7430,"big":"${2n ** 60n}"}`);
  });

  it('stays correct after a column sees more distinct strings than it caches', () => {
    const encode = jsonLineEncoder(['s']);
    for (let i = 0; i < 10_000; i++) expect(encode({ s: `v${i % 5000}` })).toBe(JSON.stringify({ s: `v${i % 5000}` }));
  });
});
