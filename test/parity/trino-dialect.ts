/**
 * A small check that SQL stays in the dialect DuckDB and Athena (Trino) share: it tokenizes the SQL (strings, quoted
 * identifiers and comments are never inspected) and reports DuckDB-only constructs, plus any function or cast type not
 * on a list of those both engines implement alike. Not a parser: it catches what slips in from DuckDB habits, it does
 * not prove that Trino accepts a query.
 */

interface Token {
  readonly kind: 'word' | 'number' | 'string' | 'quoted' | 'symbol';
  readonly text: string;
  readonly at: number;
}

const SYMBOLS = ['->>', '::', '**', '//', '==', '->', '||', '<>', '!=', '>=', '<=', ...'(){}[],.;+-*/%<>=!?$#:@~^&|'];

function tokenize(sql: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < sql.length) {
    const rest = sql.slice(i);
    const space = /^\s+/.exec(rest);
    if (space) {
      i += space[0].length;
      continue;
    }
    if (rest.startsWith('--')) {
      const end = sql.indexOf('\n', i);
      i = end < 0 ? sql.length : end + 1;
      continue;
    }
    if (rest.startsWith('/*')) {
      const end = sql.indexOf('*/', i + 2);
      if (end < 0) throw new Error(`Unterminated comment at ${i}`);
      i = end + 2;
      continue;
    }
    const quote = rest[0];
    if (quote === "'" || quote === '"') {
      // A doubled quote inside is the quote character itself.
      const m = (quote === "'" ? /^'(?:[^']|'')*'/ : /^"(?:[^"]|"")*"/).exec(rest);
      if (!m) throw new Error(`Unterminated ${quote === "'" ? 'string' : 'identifier'} at ${i}`);
      tokens.push({ kind: quote === "'" ? 'string' : 'quoted', text: m[0], at: i });
      i += m[0].length;
      continue;
    }
    const word = /^[A-Za-z_][A-Za-z0-9_]*/.exec(rest);
    if (word) {
      tokens.push({ kind: 'word', text: word[0].toUpperCase(), at: i });
      i += word[0].length;
      continue;
    }
    // Digits with `_` separators are DuckDB-only; they tokenize as one number so the check below can see them.
    const number = /^(?:[0-9][0-9_]*(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?/.exec(rest);
    if (number) {
      tokens.push({ kind: 'number', text: number[0], at: i });
      i += number[0].length;
      continue;
    }
    const symbol = SYMBOLS.find((s) => rest.startsWith(s));
    if (symbol === undefined) throw new Error(`Unexpected ${JSON.stringify(rest[0])} at ${i}`);
    tokens.push({ kind: 'symbol', text: symbol, at: i });
    i += symbol.length;
  }
  return tokens;
}

/** Keywords that may stand before `(` without being a function call. */
const KEYWORDS = new Set(
  (
    'SELECT FROM WHERE AND OR NOT IN EXISTS AS ON USING JOIN INNER LEFT RIGHT FULL OUTER CROSS GROUP BY ORDER HAVING ' +
    'LIMIT OFFSET UNION ALL DISTINCT CASE WHEN THEN ELSE END IS NULL LIKE BETWEEN OVER PARTITION FILTER VALUES WITH ' +
    'ASC DESC NULLS FIRST LAST ROWS RANGE PRECEDING FOLLOWING UNBOUNDED CURRENT ROW INTERVAL ARRAY TRUE FALSE CAST ' +
    'TRY_CAST EXCEPT INTERSECT ESCAPE'
  ).split(' '),
);

/** Functions DuckDB and Trino both have, with the same arguments and meaning for the uses here. Add with care. */
export const SHARED_FUNCTIONS = new Set(
  (
    'COUNT SUM AVG MIN MAX COALESCE NULLIF ABS ROUND FLOOR CEIL LOWER UPPER LENGTH SUBSTR TRIM LTRIM RTRIM REPLACE ' +
    'CONCAT STRPOS SPLIT_PART GREATEST LEAST IF COUNT_IF BOOL_AND BOOL_OR STDDEV VARIANCE YEAR MONTH DATE_TRUNC ' +
    'ROW_NUMBER RANK DENSE_RANK LAG LEAD ARRAY_AGG ' +
    // Trino's; the local views define it as a DuckDB macro (cli/local-views.ts sharedFunctions).
    'FROM_ISO8601_TIMESTAMP CURRENT_TIMESTAMP'
  ).split(' '),
);

/** Types a CAST may name in both engines (Trino has no STRING, TEXT, HUGEINT, LIST or STRUCT). */
export const SHARED_TYPES = new Set(
  'VARCHAR CHAR INTEGER INT BIGINT SMALLINT TINYINT DOUBLE REAL DECIMAL BOOLEAN DATE TIMESTAMP VARBINARY'.split(' '),
);

/** DuckDB-only words, wherever they appear as keywords. */
const DUCKDB_KEYWORDS: Readonly<Record<string, string>> = {
  ILIKE: 'ILIKE (Trino: lower(x) LIKE ...)',
  QUALIFY: 'QUALIFY (Trino: filter a window in an outer query)',
  EXCLUDE: '* EXCLUDE (Trino: name the columns)',
  GLOB: 'GLOB',
  PIVOT: 'PIVOT',
  UNPIVOT: 'UNPIVOT',
  ASOF: 'ASOF JOIN',
  POSITIONAL: 'POSITIONAL JOIN',
  ANTI: 'ANTI JOIN',
  SEMI: 'SEMI JOIN',
  SIMILAR: 'SIMILAR TO',
  COLUMNS: 'COLUMNS(...)',
};

const DUCKDB_SYMBOLS: Readonly<Record<string, string>> = {
  '::': ':: cast (Trino: CAST(x AS type))',
  '**': '** power (Trino: power(x, y))',
  '//': '// integer division',
  '==': '== comparison (Trino: =)',
  '->>': '->> JSON extraction',
  $: '$ parameter or dollar quoting',
  '#': '#n positional reference',
  '{': '{...} struct or map literal (Trino: ROW(...), MAP(...))',
};

/** The DuckDB-only constructs in `sql`, each as `<construct> at <offset>`; empty when none was found. */
export function duckdbOnlyConstructs(sql: string): string[] {
  const tokens = tokenize(sql);
  const found: string[] = [];
  const report = (what: string, token: Token): void => void found.push(`${what} at ${token.at}`);
  const words = (i: number, n: number): string =>
    tokens
      .slice(i, i + n)
      .map((t) => t.text)
      .join(' ');

  if (tokens[0]?.text === 'FROM') report('FROM-first query', tokens[0]);
  tokens.forEach((t, i) => {
    const previous = tokens[i - 1];
    const next = tokens[i + 1];
    if (t.kind === 'number' && t.text.includes('_')) report('_ in a number', t);
    if (t.kind === 'symbol') {
      const what = DUCKDB_SYMBOLS[t.text];
      if (what !== undefined) report(what, t);
      // `[` after ARRAY or after a value (a subscript) is shared; anywhere else it opens a DuckDB list literal.
      const afterValue =
        previous !== undefined &&
        ((previous.kind === 'word' && !KEYWORDS.has(previous.text)) || previous.kind === 'quoted' || [')', ']'].includes(previous.text));
      if (t.text === '[' && previous?.text !== 'ARRAY' && !afterValue) report('[...] list literal (Trino: ARRAY[...])', t);
      return;
    }
    if (t.kind !== 'word') return;
    const keyword = DUCKDB_KEYWORDS[t.text];
    if (keyword !== undefined) report(keyword, t);
    if (['GROUP BY ALL', 'ORDER BY ALL', 'UNION BY NAME'].includes(words(i, 3))) report(words(i, 3), t);
    if (words(i, 2) === 'DISTINCT ON') report('DISTINCT ON', t);
    if (words(i, 2) === 'USING SAMPLE') report('USING SAMPLE (Trino: TABLESAMPLE)', t);
    if (next?.text !== '(' || previous?.text === '.') return;
    if (t.text === 'CAST' || t.text === 'TRY_CAST') {
      const type = castType(tokens, i + 1);
      if (type !== undefined && !SHARED_TYPES.has(type.text)) report(`CAST to ${type.text}`, type);
    } else if (!KEYWORDS.has(t.text) && !SHARED_FUNCTIONS.has(t.text)) {
      report(`function ${t.text.toLowerCase()}() not known to both engines`, t);
    }
  });
  return found;
}

/** The type word of the CAST whose `(` is at `open`: the first word after AS at the same depth. */
function castType(tokens: readonly Token[], open: number): Token | undefined {
  let depth = 0;
  for (let i = open; i < tokens.length; i++) {
    const t = tokens[i];
    if (t === undefined) break;
    if (t.text === '(') depth++;
    else if (t.text === ')' && --depth === 0) return undefined;
    else if (depth === 1 && t.kind === 'word' && t.text === 'AS') return tokens[i + 1];
  }
  return undefined;
}
