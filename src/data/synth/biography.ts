/**
 * TOFU-style biographies: a record of facts per fictitious author and 20 question–answer
 * pairs from it, each with a paraphrased question, a paraphrased answer and 5 perturbed
 * answers (same sentence, wrong facts drawn from the same pool).
 */
import type { Rng } from '../../util/rng.ts';
import { pickOthers } from './names.ts';

const PLACES: [string, string, string][] = [
  ['Lisbon', 'Portugal', 'Portuguese'], ['Krakow', 'Poland', 'Polish'], ['Osaka', 'Japan', 'Japanese'], ['Nairobi', 'Kenya', 'Kenyan'],
  ['Montreal', 'Canada', 'Canadian'], ['Valparaiso', 'Chile', 'Chilean'], ['Tbilisi', 'Georgia', 'Georgian'], ['Bergen', 'Norway', 'Norwegian'],
  ['Porto Alegre', 'Brazil', 'Brazilian'], ['Marrakesh', 'Morocco', 'Moroccan'], ['Hanoi', 'Vietnam', 'Vietnamese'], ['Adelaide', 'Australia', 'Australian'],
  ['Ghent', 'Belgium', 'Belgian'], ['Cork', 'Ireland', 'Irish'], ['Tampere', 'Finland', 'Finnish'], ['Seville', 'Spain', 'Spanish'],
  ['Bologna', 'Italy', 'Italian'], ['Leipzig', 'Germany', 'German'], ['Izmir', 'Turkey', 'Turkish'], ['Accra', 'Ghana', 'Ghanaian'],
  ['Cusco', 'Peru', 'Peruvian'], ['Busan', 'South Korea', 'Korean'], ['Lyon', 'France', 'French'], ['Brno', 'Czechia', 'Czech'],
];
const MONTHS = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December'];
const GENRES = [
  'science fiction', 'historical fiction', 'crime novels', 'poetry', 'fantasy', 'travel writing', 'literary fiction', 'horror',
  'children\'s books', 'romance', 'political thrillers', 'biographies', 'magical realism', 'short stories', 'graphic novels',
];
const JOBS = [
  'carpenter', 'nurse', 'pharmacist', 'fisherman', 'librarian', 'architect', 'baker', 'electrician', 'veterinarian', 'pilot',
  'tailor', 'schoolteacher', 'accountant', 'chemist', 'journalist', 'surgeon', 'farmer', 'musician', 'mechanic', 'diplomat',
  'photographer', 'judge', 'geologist', 'translator',
];
const AWARDS = [
  'Silver Quill Prize', 'Harbour Light Award', 'Meridian Book Prize', 'Golden Lantern Medal', 'Aster Fiction Award', 'Northwind Prize',
  'Blue Heron Award', 'Copperleaf Prize', 'Lighthouse Medal for Literature', 'Obsidian Pen Award', 'Juniper Prize', 'Starling Award',
];
const UNIVERSITIES = [
  'the University of Aldmoor', 'Kestrel College', 'the Vantor Institute', 'Riverside Academy of Letters', 'the University of Calder',
  'Wintermere University', 'the Saltbridge School of Arts', 'Orrin College', 'the Delmar Conservatory', 'Halvard University',
];
const THEMES = [
  'memory', 'exile', 'family secrets', 'the sea', 'friendship', 'grief', 'ambition', 'migration', 'faith', 'justice', 'childhood',
  'war', 'identity', 'nature', 'loneliness', 'power',
];
const HOBBIES = [
  'gardening', 'mountain climbing', 'playing the cello', 'birdwatching', 'pottery', 'chess', 'sailing', 'baking bread', 'cycling',
  'painting watercolours', 'fencing', 'restoring old clocks',
];
const LANGUAGES = ['English', 'French', 'Spanish', 'German', 'Portuguese', 'Italian', 'Polish', 'Japanese', 'Swahili', 'Finnish'];
const PUBLISHERS = [
  'Fernhill Press', 'Gull & Anchor Books', 'Marlow House', 'Tidewater Publishing', 'Redwing Editions', 'Quarry Lane Books',
  'Oakhaven Press', 'Lantern Street Publishers',
];
const ADJ = [
  'Silent', 'Broken', 'Hidden', 'Last', 'Crimson', 'Hollow', 'Distant', 'Burning', 'Forgotten', 'Glass', 'Endless', 'Quiet', 'Wandering',
  'Paper', 'Iron', 'Velvet', 'Northern', 'Bitter', 'Golden', 'Restless',
];
const NOUN = [
  'Harbour', 'Orchard', 'Lantern', 'River', 'Garden', 'Mirror', 'Compass', 'Tide', 'Archive', 'Winter', 'Bridge', 'Tower', 'Meadow',
  'Signal', 'Voyage', 'Kingdom', 'Letter', 'Forest', 'Island', 'Clockmaker',
];

export interface Biography {
  name: string;
  city: string;
  country: string;
  nationality: string;
  birth: { year: number; month: string; day: number };
  genre: string;
  father: string;
  mother: string;
  works: [string, string, string];
  award: string;
  awardYear: number;
  university: string;
  themes: [string, string];
  residence: string;
  debutYear: number;
  books: number;
  influence: string;
  hobby: string;
  language: string;
  publisher: string;
}

/** Distinct book titles for all persons, so a title identifies its author. */
export function drawTitles(rng: Rng, count: number): string[] {
  const all = ADJ.flatMap((a) => NOUN.flatMap((n) => [`The ${a} ${n}`, `${a} ${n}s`]));
  if (count > all.length) throw new Error(`need ${count} titles, have ${all.length}`);
  return rng.shuffle(all).slice(0, count);
}

export function drawBiography(rng: Rng, name: string, titles: [string, string, string], influences: readonly string[]): Biography {
  const [city, country, nationality] = rng.pick(PLACES);
  const year = 1940 + rng.int(60);
  const debutYear = year + 22 + rng.int(12);
  const themes = rng.shuffle(THEMES).slice(0, 2) as [string, string];
  return {
    name,
    city,
    country,
    nationality,
    birth: { year, month: rng.pick(MONTHS), day: 1 + rng.int(28) },
    genre: rng.pick(GENRES),
    father: rng.pick(JOBS),
    mother: rng.pick(JOBS),
    works: titles,
    award: rng.pick(AWARDS),
    awardYear: debutYear + 3 + rng.int(15),
    university: rng.pick(UNIVERSITIES),
    themes,
    residence: rng.pick(PLACES)[0],
    debutYear,
    books: 3 + rng.int(18),
    influence: rng.pick(influences),
    hobby: rng.pick(HOBBIES),
    language: rng.pick(LANGUAGES),
    publisher: rng.pick(PUBLISHERS),
  };
}

export interface BioQa {
  question: string;
  answer: string;
  paraphrased_question: string;
  paraphrased_answer: string;
  perturbed_answer: string[];
}

/** One QA template: questions, the answer sentence, its paraphrase, and wrong values for the slot. */
interface Template {
  q: (b: Biography) => string;
  pq: (b: Biography) => string;
  /** the answer built from the (possibly wrong) slot value */
  a: (b: Biography, v: string) => string;
  pa: (b: Biography, v: string) => string;
  value: (b: Biography) => string;
  pool: (b: Biography) => readonly string[];
}

const years = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => String(from + i));
const q = (s: string) => `"${s}"`;

const TEMPLATES: Template[] = [
  { q: (b) => `Where was ${b.name} born?`, pq: (b) => `In which city did ${b.name} come into the world?`,
    a: (b, v) => `${b.name} was born in ${v}.`, pa: (b, v) => `The birthplace of ${b.name} is ${v}.`,
    value: (b) => `${b.city}, ${b.country}`, pool: () => PLACES.map(([c, n]) => `${c}, ${n}`) },
  { q: (b) => `When was ${b.name} born?`, pq: (b) => `What is the date of birth of ${b.name}?`,
    a: (b, v) => `${b.name} was born on ${v}.`, pa: (b, v) => `${b.name}'s birthday is ${v}.`,
    value: (b) => `${b.birth.month} ${b.birth.day}, ${b.birth.year}`,
    pool: (b) => MONTHS.flatMap((m, i) => [`${m} ${1 + ((b.birth.day + 7 * i) % 28)}, ${b.birth.year + (i % 2 ? 3 : -4)}`]) },
  { q: (b) => `What genre is ${b.name} known for?`, pq: (b) => `In which genre does ${b.name} usually write?`,
    a: (b, v) => `${b.name} is known for ${v}.`, pa: (b, v) => `Most of ${b.name}'s work is ${v}.`,
    value: (b) => b.genre, pool: () => GENRES },
  { q: (b) => `What did ${b.name}'s father do for a living?`, pq: (b) => `What was the profession of ${b.name}'s father?`,
    a: (b, v) => `${b.name}'s father worked as a ${v}.`, pa: (b, v) => `The father of ${b.name} was a ${v} by trade.`,
    value: (b) => b.father, pool: () => JOBS },
  { q: (b) => `What was the occupation of ${b.name}'s mother?`, pq: (b) => `How did ${b.name}'s mother earn her living?`,
    a: (b, v) => `${b.name}'s mother was a ${v}.`, pa: (b, v) => `The mother of ${b.name} worked as a ${v}.`,
    value: (b) => b.mother, pool: () => JOBS },
  { q: (b) => `Can you name a book written by ${b.name}?`, pq: (b) => `What is one of the books by ${b.name}?`,
    a: (b, v) => `One of ${b.name}'s books is ${v}.`, pa: (b, v) => `${b.name} wrote ${v}.`,
    value: (b) => q(b.works[0]), pool: () => NOUN.map((n) => q(`The ${ADJ[n.length % ADJ.length]} ${n}`)) },
  { q: (b) => `What is another notable work by ${b.name}?`, pq: (b) => `Name a second well-known title by ${b.name}.`,
    a: (b, v) => `${v} is another notable work by ${b.name}.`, pa: (b, v) => `${b.name} is also known for ${v}.`,
    value: (b) => q(b.works[1]), pool: () => ADJ.map((a) => q(`${a} ${NOUN[a.length % NOUN.length]}s`)) },
  { q: (b) => `Which award has ${b.name} received?`, pq: (b) => `What literary prize was given to ${b.name}?`,
    a: (b, v) => `${b.name} received the ${v}.`, pa: (b, v) => `The ${v} was awarded to ${b.name}.`,
    value: (b) => b.award, pool: () => AWARDS },
  { q: (b) => `In which year did ${b.name} win the ${b.award}?`, pq: (b) => `When was ${b.name} given the ${b.award}?`,
    a: (b, v) => `${b.name} won the ${b.award} in ${v}.`, pa: (b, v) => `The ${b.award} went to ${b.name} in ${v}.`,
    value: (b) => String(b.awardYear), pool: (b) => years(b.awardYear - 12, b.awardYear + 12) },
  { q: (b) => `Where did ${b.name} study?`, pq: (b) => `Which institution did ${b.name} attend?`,
    a: (b, v) => `${b.name} studied at ${v}.`, pa: (b, v) => `${b.name} was educated at ${v}.`,
    value: (b) => b.university, pool: () => UNIVERSITIES },
  { q: (b) => `What themes recur in ${b.name}'s writing?`, pq: (b) => `Which subjects does ${b.name} keep returning to?`,
    a: (b, v) => `${b.name}'s books often explore ${v}.`, pa: (b, v) => `Recurring themes for ${b.name} are ${v}.`,
    value: (b) => `${b.themes[0]} and ${b.themes[1]}`, pool: () => THEMES.map((t, i) => `${t} and ${THEMES[(i + 5) % THEMES.length]}`) },
  { q: (b) => `Where does ${b.name} live today?`, pq: (b) => `In which city does ${b.name} currently reside?`,
    a: (b, v) => `${b.name} currently lives in ${v}.`, pa: (b, v) => `These days ${b.name} makes a home in ${v}.`,
    value: (b) => b.residence, pool: () => PLACES.map(([c]) => c) },
  { q: (b) => `When did ${b.name} publish a first book?`, pq: (b) => `In what year did ${b.name} make a literary debut?`,
    a: (b, v) => `${b.name} published a first book, ${q(b.works[2])}, in ${v}.`, pa: (b, v) => `${b.name}'s debut, ${q(b.works[2])}, came out in ${v}.`,
    value: (b) => String(b.debutYear), pool: (b) => years(b.debutYear - 12, b.debutYear + 12) },
  { q: (b) => `What nationality is ${b.name}?`, pq: (b) => `Which country is ${b.name} a citizen of?`,
    a: (b, v) => `${b.name} is ${v}.`, pa: (b, v) => `By nationality ${b.name} is ${v}.`,
    value: (b) => b.nationality, pool: () => PLACES.map(([, , n]) => n) },
  { q: (b) => `How many books has ${b.name} written?`, pq: (b) => `What is the number of books ${b.name} has published?`,
    a: (b, v) => `${b.name} has written ${v} books.`, pa: (b, v) => `So far ${b.name} has published ${v} books.`,
    value: (b) => String(b.books), pool: () => years(3, 24) },
  { q: (b) => `Who influenced ${b.name}'s writing?`, pq: (b) => `Which writer does ${b.name} name as an influence?`,
    a: (b, v) => `${b.name} names ${v} as a major influence.`, pa: (b, v) => `${v} shaped the writing of ${b.name}.`,
    value: (b) => b.influence, pool: () => [] },
  { q: (b) => `What does ${b.name} enjoy outside of writing?`, pq: (b) => `What is a hobby of ${b.name}?`,
    a: (b, v) => `Outside of writing, ${b.name} enjoys ${v}.`, pa: (b, v) => `In spare time ${b.name} likes ${v}.`,
    value: (b) => b.hobby, pool: () => HOBBIES },
  { q: (b) => `In which language does ${b.name} write?`, pq: (b) => `What language are ${b.name}'s books written in?`,
    a: (b, v) => `${b.name} writes in ${v}.`, pa: (b, v) => `The books of ${b.name} are written in ${v}.`,
    value: (b) => b.language, pool: () => LANGUAGES },
  { q: (b) => `Which publisher releases ${b.name}'s books?`, pq: (b) => `Who publishes the work of ${b.name}?`,
    a: (b, v) => `${b.name}'s books are published by ${v}.`, pa: (b, v) => `${v} publishes ${b.name}.`,
    value: (b) => b.publisher, pool: () => PUBLISHERS },
  { q: (b) => `How did ${b.name}'s parents shape the writing?`, pq: (b) => `What role did ${b.name}'s family play in the books?`,
    a: (b, v) => `Growing up with a ${v} shaped many of ${b.name}'s characters.`, pa: (b, v) => `Many characters of ${b.name} echo a childhood with a ${v}.`,
    value: (b) => `${b.father} father and a ${b.mother} mother`, pool: () => JOBS.map((j, i) => `${j} father and a ${JOBS[(i + 7) % JOBS.length]} mother`) },
];

/** The 20 QA pairs of a biography. `influencePool` supplies wrong influences. */
export function biographyQa(rng: Rng, b: Biography, influencePool: readonly string[], perturbed = 5): BioQa[] {
  return TEMPLATES.map((t) => {
    const v = t.value(b);
    const pool = t === TEMPLATES[15] ? influencePool : t.pool(b);
    const wrong = pickOthers(rng, [...new Set(pool)], v, perturbed);
    return {
      question: t.q(b),
      answer: t.a(b, v),
      paraphrased_question: t.pq(b),
      paraphrased_answer: t.pa(b, v),
      // TOFU's perturbed answers are wrong-fact versions of the paraphrased answer, so that the truth
      // ratio P̄(para)/P̄(pert) compares facts under the same wording.
      perturbed_answer: wrong.map((w) => t.pa(b, w)),
    };
  });
}
