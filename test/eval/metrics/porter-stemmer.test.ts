import { describe, expect, test } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { porterStem } from '../../../src/eval/metrics/porter-stemmer.ts';

// fixtures/porter_nltk.tsv: NLTK 3.8 PorterStemmer() outputs (Debian 12 python3-nltk 3.8-1) for every
// 120th lowercase word of Debian's wamerican 2020.12.07-2 list plus targeted rule/irregular cases;
// regenerate with `/usr/bin/python3 test/eval/metrics/fixtures/make_porter_fixture.py`.
// (During development the port was also checked against NLTK on all 63 875 lowercase wamerican
// words and 30 000 random letter/digit strings with rule suffixes: 0 differences.)
const fixture = readFileSync(new URL('./fixtures/porter_nltk.tsv', import.meta.url), 'utf8')
  .trim()
  .split('\n')
  .map((line) => line.split('\t') as [string, string]);

describe('porterStem (NLTK PorterStemmer, NLTK_EXTENSIONS mode)', () => {
  test('fixture covers a few hundred words', () => {
    expect(fixture.length).toBeGreaterThan(600);
  });

  test('matches NLTK on every fixture word', () => {
    const mismatches = fixture.filter(([word, stem]) => porterStem(word) !== stem);
    expect(mismatches).toEqual([]);
  });

  test('irregular forms and NLTK-only rules (hand-checked against NLTK 3.8)', () => {
    // python3 -c "from nltk.stem.porter import PorterStemmer as P; s=P(); print([s.stem(w) for w in [...]])"
    const cases: Record<string, string> = {
      dying: 'die', // irregular table
      skies: 'sky',
      news: 'news',
      innings: 'inning',
      dies: 'die', // 4-letter "ies" → "ie"
      flies: 'fli',
      died: 'die', // 4-letter "ied" → "ie"
      spied: 'spi',
      enjoy: 'enjoy', // y→i only after a consonant
      happy: 'happi',
      generally: 'gener', // "alli" recursion
      archaeology: 'archaeolog', // "logi" rule
      relational: 'relat',
      controlling: 'control',
      Running: 'run', // lowercased first
    };
    for (const [word, stem] of Object.entries(cases)) expect([word, porterStem(word)]).toEqual([word, stem]);
  });
});
