/**
 * County (fylke) numbers change with the regional reforms of 2020 and 2024, so a name maps to a code only within the
 * years it was valid. Names are matched as printed in the exports, after the Sami form is removed.
 */

interface CountyEra {
  readonly fromYear: number;
  readonly toYear: number;
  readonly codes: Readonly<Record<string, string>>;
}

const ERAS: readonly CountyEra[] = [
  {
    fromYear: 0,
    toYear: 2019,
    codes: {
      Østfold: '01',
      Akershus: '02',
      Oslo: '03',
      Hedmark: '04',
      Oppland: '05',
      Buskerud: '06',
      Vestfold: '07',
      Telemark: '08',
      'Aust-Agder': '09',
      'Vest-Agder': '10',
      Rogaland: '11',
      Hordaland: '12',
      'Sogn og Fjordane': '14',
      'Møre og Romsdal': '15',
      'Sør-Trøndelag': '16',
      'Nord-Trøndelag': '17',
      Nordland: '18',
      Troms: '19',
      Finnmark: '20',
      Trøndelag: '50',
    },
  },
  {
    fromYear: 2020,
    toYear: 2023,
    codes: {
      Oslo: '03',
      Rogaland: '11',
      'Møre og Romsdal': '15',
      Nordland: '18',
      Viken: '30',
      Innlandet: '34',
      'Vestfold og Telemark': '38',
      Agder: '42',
      Vestland: '46',
      Trøndelag: '50',
      'Troms og Finnmark': '54',
    },
  },
  {
    fromYear: 2024,
    toYear: 9999,
    codes: {
      Oslo: '03',
      Rogaland: '11',
      'Møre og Romsdal': '15',
      Nordland: '18',
      Østfold: '31',
      Akershus: '32',
      Buskerud: '33',
      Innlandet: '34',
      Vestfold: '39',
      Telemark: '40',
      Agder: '42',
      Vestland: '46',
      Trøndelag: '50',
      Troms: '55',
      Finnmark: '56',
    },
  },
];

/** Rows that are regions but not counties: they carry no code and are not warned about. */
export const NON_COUNTY_REGIONS: ReadonlySet<string> = new Set(['Øvrige områder', 'Ukjent']);

export const TOTAL_REGION = 'I alt';

/**
 * The Norwegian name of a row label: the Sami form after " - " goes (it is sometimes cut, or followed by spaces),
 * while hyphens inside names such as "Aust-Agder" stay.
 */
export function norwegianName(label: string): string {
  const trimmed = label.trim();
  const dash = trimmed.search(/\s-(\s|$)/u);
  return (dash === -1 ? trimmed : trimmed.slice(0, dash)).trim();
}

export function countyCode(name: string, year: number): string | null {
  for (const era of ERAS) {
    if (year >= era.fromYear && year <= era.toYear) return era.codes[name] ?? null;
  }
  return null;
}

/** The counties valid in a year, in code order; used by generators and tests. */
export function countiesOf(year: number): Array<{ name: string; code: string }> {
  const era = ERAS.find((e) => year >= e.fromYear && year <= e.toYear);
  if (!era) return [];
  return Object.entries(era.codes)
    .filter(([name]) => year >= 2018 || name !== 'Trøndelag')
    .filter(([name]) => year < 2018 || !name.endsWith('-Trøndelag'))
    .map(([name, code]) => ({ name, code }))
    .sort((a, b) => a.code.localeCompare(b.code));
}
