// Parses one file in a process of its own and reports its peak resident memory, so the figure is the parser's alone.
import { parseFileStream } from '../../lambdas/parser/index.ts';

const file = process.argv[2];
if (!file) throw new Error('usage: parse-memory.ts FILE');
let records = 0;
const started = performance.now();
// Generated exports past ~5 MB repeat their years (the parser accepts 1990-2100 only), so repeats are allowed here.
const summary = await parseFileStream(
  file,
  (batch) => {
    records += batch.length;
  },
  { repeatedSections: 'allow' },
);
const seconds = (performance.now() - started) / 1000;
// maxRSS is in kilobytes.
process.stdout.write(
  `${JSON.stringify({ records, sections: summary.sections, warnings: summary.warnings.length, seconds, peak_rss_mb: process.resourceUsage().maxRSS / 1024 })}\n`,
);
