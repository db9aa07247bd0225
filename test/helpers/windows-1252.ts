// Windows-1252 differs from Latin-1 only in 0x80-0x9F; Node has no encoder for it. A module of its own, free of
// vitest, so that bench/formats.ts can build the fixtures (test/formats/make-fixtures.ts) outside the test runner.
const CP1252_HIGH = '€\u0081‚ƒ„…†‡ˆ‰Š‹Œ\u008dŽ\u008f\u0090‘’“”•–—˜™š›œ\u009džŸ';

export function encodeWindows1252(text: string): Uint8Array {
  const out = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    const high = CP1252_HIGH.indexOf(text.charAt(i));
    if (c < 0x80 || (c >= 0xa0 && c <= 0xff)) out[i] = c;
    else if (high !== -1) out[i] = 0x80 + high;
    else throw new Error(`U+${c.toString(16).padStart(4, '0')} has no Windows-1252 byte`);
  }
  return out;
}
