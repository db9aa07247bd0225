/** What the front-ends do to every cell before the core sees it as tab-separated text. */

const SPLITS_A_LINE = /[\t\r\n]/;
const LINE_BREAK = /[ \t]*(?:\r\n?|\n)[ \t]*/g;
/**
 * Whole counts with a decimal comma and one or two zeros ("14402,00", "14 402,0"), as a Norwegian-locale spreadsheet
 * writes them. Three zeros are left alone: "1,000" is a thousand in an English locale, so it stays an error.
 */
const DECIMAL_ZEROS = /^(\s*\d[\d \u00a0\u202f]*),0{1,2}\s*$/;

/**
 * A cell as one piece of a line: a line break inside it (a wrapped heading or label) becomes a space, which is what
 * the core makes of a heading or label wrapped over lines in the text export; a tab would split the cell.
 */
export function cellText(raw: string): string {
  let t = raw;
  if (SPLITS_A_LINE.test(t)) t = t.replace(LINE_BREAK, ' ').replace(/\t/g, ' ');
  if (t.indexOf(',') !== -1) {
    const m = DECIMAL_ZEROS.exec(t);
    if (m) t = m[1] as string;
  }
  return t;
}

/** 1 -> A, 27 -> AA. */
export function columnName(column: number): string {
  let name = '';
  for (let n = column; n > 0; n = Math.floor((n - 1) / 26)) name = String.fromCharCode(65 + ((n - 1) % 26)) + name;
  return name;
}

/** The 1-based cell of a line of tab-separated cells that character column `column` (1-based) falls in. */
export function cellIndexAt(text: string, column: number): number {
  let cell = 1;
  const end = Math.min(column - 1, text.length);
  for (let i = 0; i < end; i++) if (text.charCodeAt(i) === 0x09) cell++;
  return cell;
}
