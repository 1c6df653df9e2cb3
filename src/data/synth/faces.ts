/**
 * Face-like portraits whose identity a tiny vision model can learn at 32×32: each person has
 * a fixed combination of large, high-contrast traits (skin tone, face shape, hair colour and
 * style, beard, glasses, hat), and any two persons differ in at least MIN_DIFFERENCES of
 * them. Small traits (eye colour, brows, nose, mouth, earrings) add detail. Each image varies
 * pose, scale, background, clothing and lighting around that identity.
 */
import type { Rng } from '../../util/rng.ts';
import { UserError } from '../../util/errors.ts';

export const SKIN = ['#f6d7c3', '#e9b893', '#cf9a6b', '#a86e44', '#7b4a2b', '#4f301d'] as const;
export const FACE_SHAPES = ['round', 'oval', 'square', 'long', 'heart'] as const;
export const HAIR_COLOURS: Record<string, string> = {
  black: '#141414', brown: '#5b3a1e', blonde: '#e8c96a', red: '#b5381c', grey: '#8d8d8d', white: '#f2f2f2', blue: '#2c5bd6', pink: '#e86aa8',
};
export const HAIR_STYLES = ['bald', 'short', 'long', 'bob', 'mohawk', 'bun', 'curly', 'sidepart'] as const;
export const BEARDS = ['none', 'full', 'moustache', 'goatee'] as const;
export const GLASSES = ['none', 'round', 'square', 'sunglasses'] as const;
export const HATS = ['none', 'beanie', 'cap', 'tophat'] as const;
const EYES: Record<string, string> = { brown: '#5a3311', blue: '#2f6fd0', green: '#2f9a4a', grey: '#6f7c88' };
const BROWS = ['thin', 'thick', 'arched'] as const;
const NOSES = ['small', 'long', 'wide'] as const;
const MOUTHS = ['smile', 'neutral', 'wide'] as const;
const HAT_COLOURS = ['#c0392b', '#27ae60', '#2c3e50', '#8e44ad', '#d35400', '#16a085'];

export interface Identity {
  skin: number;
  face: (typeof FACE_SHAPES)[number];
  hairColour: string;
  hairStyle: (typeof HAIR_STYLES)[number];
  beard: (typeof BEARDS)[number];
  glasses: (typeof GLASSES)[number];
  hat: (typeof HATS)[number];
  hatColour: string;
  eyes: string;
  brows: (typeof BROWS)[number];
  nose: (typeof NOSES)[number];
  mouth: (typeof MOUTHS)[number];
  earrings: boolean;
}

/** The traits that are clearly visible at 32×32; identity distance counts these. */
const VISIBLE: (keyof Identity)[] = ['skin', 'face', 'hairColour', 'hairStyle', 'beard', 'glasses', 'hat'];
export const MIN_DIFFERENCES = 3;

export function visibleDifferences(a: Identity, b: Identity): number {
  return VISIBLE.reduce((n, k) => n + (a[k] === b[k] ? 0 : 1), 0);
}

/** "none" is the commonest accessory so hair and face stay visible on most persons. */
function accessory<T extends string>(rng: Rng, xs: readonly T[], pNone: number): T {
  return rng.next() < pNone ? xs[0] : xs[1 + rng.int(xs.length - 1)];
}

function drawIdentity(rng: Rng): Identity {
  return {
    skin: rng.int(SKIN.length),
    face: rng.pick(FACE_SHAPES),
    hairColour: rng.pick(Object.keys(HAIR_COLOURS)),
    hairStyle: rng.pick(HAIR_STYLES),
    beard: accessory(rng, BEARDS, 0.55),
    glasses: accessory(rng, GLASSES, 0.55),
    hat: accessory(rng, HATS, 0.7),
    hatColour: rng.pick(HAT_COLOURS),
    eyes: rng.pick(Object.keys(EYES)),
    brows: rng.pick(BROWS),
    nose: rng.pick(NOSES),
    mouth: rng.pick(MOUTHS),
    earrings: rng.next() < 0.3,
  };
}

/** `n` identities, every pair differing in at least MIN_DIFFERENCES visible traits. */
export function drawIdentities(rng: Rng, n: number): Identity[] {
  const out: Identity[] = [];
  for (let tries = 0; out.length < n; tries++) {
    if (tries > 200_000) throw new UserError(`cannot draw ${n} clearly distinct faces; use fewer --persons`);
    const c = drawIdentity(rng);
    if (out.every((o) => visibleDifferences(o, c) >= MIN_DIFFERENCES)) out.push(c);
  }
  return out;
}

// ---- per-image variation ----

export const COLOURS: Record<string, string> = {
  red: '#d23c3c', blue: '#3c6fd2', green: '#3ca85a', yellow: '#e8cf3c', orange: '#ee8a2e', purple: '#8a4fc4',
  pink: '#ef8fbf', teal: '#2aa6a0', grey: '#9a9a9a', white: '#f4f4f0', brown: '#8a5a34', black: '#262626',
};
export const PATTERNS = ['plain', 'striped', 'dotted', 'checked'] as const;
/** How much the person is enlarged around the face centre. */
const PORTRAIT_ZOOM = 1.3;
export const GARMENTS = ['jacket', 'sweater', 'shirt', 'coat', 'hoodie'] as const;
export const LIGHTS = ['normal', 'bright', 'dim', 'warm', 'cool'] as const;

export interface Variation {
  dx: number;
  dy: number;
  angle: number;
  scale: number;
  background: string;
  pattern: (typeof PATTERNS)[number];
  clothing: string;
  garment: (typeof GARMENTS)[number];
  light: (typeof LIGHTS)[number];
}

export function drawVariation(rng: Rng): Variation {
  const names = Object.keys(COLOURS);
  const background = rng.pick(names);
  let clothing = rng.pick(names);
  while (clothing === background) clothing = rng.pick(names);
  return {
    dx: Math.round((rng.next() * 2 - 1) * 8),
    dy: Math.round((rng.next() * 2 - 1) * 6),
    angle: Math.round((rng.next() * 2 - 1) * 12),
    scale: Math.round((0.85 + rng.next() * 0.25) * 100) / 100,
    background,
    pattern: rng.pick(PATTERNS),
    clothing,
    garment: rng.pick(GARMENTS),
    light: rng.pick(LIGHTS),
  };
}

// ---- SVG ----

function shade(hex: string, f: number): string {
  const n = parseInt(hex.slice(1), 16);
  const c = [(n >> 16) & 255, (n >> 8) & 255, n & 255].map((v) => Math.max(0, Math.min(255, Math.round(f < 0 ? v * (1 + f) : v + (255 - v) * f))));
  return `#${c.map((v) => v.toString(16).padStart(2, '0')).join('')}`;
}

export function backgroundSvg(colour: string, pattern: Variation['pattern']): string {
  const bg = COLOURS[colour];
  const ink = shade(bg, colour === 'black' || colour === 'brown' ? 0.25 : -0.22);
  let p = '';
  if (pattern === 'striped') for (let x = 4; x < 128; x += 16) p += `<rect x="${x}" y="0" width="7" height="128" fill="${ink}"/>`;
  if (pattern === 'dotted') for (let y = 8; y < 128; y += 16) for (let x = 8 + ((y >> 4) & 1) * 8; x < 128; x += 16) p += `<circle cx="${x}" cy="${y}" r="3" fill="${ink}"/>`;
  if (pattern === 'checked') for (let y = 0; y < 128; y += 16) for (let x = ((y >> 4) & 1) * 16; x < 128; x += 32) p += `<rect x="${x}" y="${y}" width="16" height="16" fill="${ink}"/>`;
  return `<rect width="128" height="128" fill="${bg}"/>${p}`;
}

function faceGeometry(face: Identity['face']): { rx: number; ry: number; shape: (fill: string) => string } {
  switch (face) {
    case 'round':
      return { rx: 27, ry: 27, shape: (f) => `<circle cx="64" cy="58" r="27" fill="${f}"/>` };
    case 'oval':
      return { rx: 23, ry: 30, shape: (f) => `<ellipse cx="64" cy="58" rx="23" ry="30" fill="${f}"/>` };
    case 'square':
      return { rx: 26, ry: 28, shape: (f) => `<rect x="38" y="30" width="52" height="56" rx="9" fill="${f}"/>` };
    case 'long':
      return { rx: 20, ry: 33, shape: (f) => `<rect x="44" y="25" width="40" height="66" rx="18" fill="${f}"/>` };
    case 'heart':
      return { rx: 27, ry: 29, shape: (f) => `<path d="M37 44 Q37 29 64 29 Q91 29 91 44 Q91 70 64 88 Q37 70 37 44Z" fill="${f}"/>` };
  }
}

function hairBack(id: Identity, c: string, rx: number): string {
  if (id.hairStyle === 'long') return `<rect x="${64 - rx - 6}" y="34" width="${2 * rx + 12}" height="62" rx="14" fill="${c}"/>`;
  if (id.hairStyle === 'bob') return `<rect x="${64 - rx - 5}" y="30" width="${2 * rx + 10}" height="42" rx="12" fill="${c}"/>`;
  if (id.hairStyle === 'curly') {
    let s = '';
    for (let a = -150; a <= -30; a += 20) {
      const r = (a * Math.PI) / 180;
      s += `<circle cx="${(64 + Math.cos(r) * (rx + 3)).toFixed(1)}" cy="${(52 + Math.sin(r) * (rx + 6)).toFixed(1)}" r="9" fill="${c}"/>`;
    }
    return s + `<circle cx="${64 - rx - 3}" cy="60" r="8" fill="${c}"/><circle cx="${64 + rx + 3}" cy="60" r="8" fill="${c}"/>`;
  }
  return '';
}

function hairTop(id: Identity, c: string, rx: number, top: number): string {
  switch (id.hairStyle) {
    case 'bald':
      return '';
    case 'short':
    case 'long':
    case 'bob':
      return `<path d="M${64 - rx - 1} ${top + 18} Q${64 - rx} ${top - 4} 64 ${top - 4} Q${64 + rx} ${top - 4} ${64 + rx + 1} ${top + 18} Q64 ${top + 6} ${64 - rx - 1} ${top + 18}Z" fill="${c}"/>`;
    case 'mohawk':
      return `<rect x="58" y="${top - 14}" width="12" height="24" rx="4" fill="${c}"/>`;
    case 'bun':
      return `<circle cx="64" cy="${top - 8}" r="10" fill="${c}"/><path d="M${64 - rx} ${top + 14} Q64 ${top - 6} ${64 + rx} ${top + 14} Q64 ${top + 4} ${64 - rx} ${top + 14}Z" fill="${c}"/>`;
    case 'curly':
      return `<path d="M${64 - rx} ${top + 14} Q64 ${top - 8} ${64 + rx} ${top + 14}Z" fill="${c}"/>`;
    case 'sidepart':
      return `<path d="M${64 - rx - 1} ${top + 22} Q${64 - rx} ${top - 4} ${64 + 6} ${top - 4} Q${64 + rx + 2} ${top} ${64 + rx + 1} ${top + 12} L54 ${top + 6} Z" fill="${c}"/>`;
  }
}

function hatSvg(id: Identity, rx: number, top: number): string {
  const c = id.hatColour;
  switch (id.hat) {
    case 'none':
      return '';
    case 'beanie':
      return `<path d="M${64 - rx - 2} ${top + 12} Q${64 - rx} ${top - 12} 64 ${top - 12} Q${64 + rx} ${top - 12} ${64 + rx + 2} ${top + 12}Z" fill="${c}"/><rect x="${64 - rx - 3}" y="${top + 8}" width="${2 * rx + 6}" height="7" rx="3" fill="${shade(c, -0.3)}"/>`;
    case 'cap':
      return `<path d="M${64 - rx - 1} ${top + 10} Q64 ${top - 14} ${64 + rx + 1} ${top + 10}Z" fill="${c}"/><rect x="56" y="${top + 6}" width="${rx + 20}" height="6" rx="3" fill="${shade(c, -0.3)}"/>`;
    case 'tophat':
      return `<rect x="${64 - rx - 8}" y="${top + 4}" width="${2 * rx + 16}" height="6" fill="#1b1b1b"/><rect x="${64 - rx + 4}" y="${top - 22}" width="${2 * rx - 8}" height="28" fill="#1b1b1b"/><rect x="${64 - rx + 4}" y="${top - 2}" width="${2 * rx - 8}" height="5" fill="${c}"/>`;
  }
}

function garmentSvg(v: Variation): string {
  const c = COLOURS[v.clothing];
  const dark = shade(c, -0.3);
  const body = `<path d="M14 128 Q16 96 46 90 L82 90 Q112 96 114 128Z" fill="${c}"/>`;
  switch (v.garment) {
    // Each garment's mark sits just below the neck, inside the portrait frame, in high contrast, so it
    // stays legible at the model's input size.
    case 'jacket': // open lapels over a white shirt
      return body + `<path d="M52 90 L64 114 L76 90Z" fill="#fafafa"/><path d="M50 90 L64 116 L78 90" fill="none" stroke="${dark}" stroke-width="5"/>`;
    case 'sweater': // thick round collar band
      return body + `<path d="M48 90 Q64 106 80 90" fill="none" stroke="${dark}" stroke-width="8"/>`;
    case 'shirt': // big white collar points and a button placket
      return body + `<path d="M50 88 L63 104 L52 108Z M78 88 L65 104 L76 108Z" fill="#fafafa"/><line x1="64" y1="100" x2="64" y2="128" stroke="#fafafa" stroke-width="3"/>`;
    case 'coat': // double-breasted: two rows of light buttons
      return body + `<line x1="64" y1="92" x2="64" y2="128" stroke="${dark}" stroke-width="4"/>` +
        [[56, 100], [72, 100], [56, 112], [72, 112]].map(([x, y]) => `<circle cx="${x}" cy="${y}" r="3.5" fill="#e8e8e8"/>`).join('');
    case 'hoodie': // a heavy hood around the neck and two white drawstrings
      return body + `<path d="M38 90 Q64 118 90 90" fill="none" stroke="${dark}" stroke-width="10"/><path d="M58 102 L58 120 M70 102 L70 120" stroke="#fafafa" stroke-width="3"/>`;
  }
}

function lightSvg(light: Variation['light']): string {
  switch (light) {
    case 'normal':
      return '';
    case 'bright':
      return '<rect width="128" height="128" fill="#ffffff" opacity="0.22"/>';
    case 'dim':
      return '<rect width="128" height="128" fill="#000000" opacity="0.28"/>';
    case 'warm':
      return '<rect width="128" height="128" fill="#ff9a2e" opacity="0.16"/>';
    case 'cool':
      return '<rect width="128" height="128" fill="#2e8bff" opacity="0.16"/>';
  }
}

/** The portrait of `id` under variation `v`, as a 128×128 SVG document. */
export function portraitSvg(id: Identity, v: Variation): string {
  const skin = SKIN[id.skin];
  const skinDark = shade(skin, -0.25);
  const hair = HAIR_COLOURS[id.hairColour];
  const g = faceGeometry(id.face);
  const top = 58 - g.ry;
  const browColour = id.hairStyle === 'bald' ? '#3a2a1a' : hair === HAIR_COLOURS.white ? '#bdbdbd' : hair;
  const eye = EYES[id.eyes];
  const browW = id.brows === 'thick' ? 4 : 2;
  const brows =
    id.brows === 'arched'
      ? `<path d="M47 47 Q53 42 59 47 M69 47 Q75 42 81 47" fill="none" stroke="${browColour}" stroke-width="2.5"/>`
      : `<path d="M47 46 L59 46 M69 46 L81 46" stroke="${browColour}" stroke-width="${browW}"/>`;
  const eyes = [53, 75].map((x) => `<ellipse cx="${x}" cy="54" rx="5" ry="3.5" fill="#ffffff"/><circle cx="${x}" cy="54" r="2.6" fill="${eye}"/><circle cx="${x}" cy="54" r="1.1" fill="#111"/>`).join('');
  const nose =
    id.nose === 'small' ? `<path d="M64 58 L61 66 L66 66" fill="none" stroke="${skinDark}" stroke-width="2"/>`
    : id.nose === 'long' ? `<path d="M64 54 L60 70 L67 70" fill="none" stroke="${skinDark}" stroke-width="2"/>`
    : `<ellipse cx="64" cy="66" rx="6" ry="3.5" fill="${skinDark}"/>`;
  const mouth =
    id.mouth === 'smile' ? `<path d="M55 75 Q64 83 73 75" fill="none" stroke="#7a2b2b" stroke-width="2.5"/>`
    : id.mouth === 'neutral' ? `<line x1="57" y1="77" x2="71" y2="77" stroke="#7a2b2b" stroke-width="2.5"/>`
    : `<path d="M52 74 Q64 86 76 74Z" fill="#7a2b2b"/>`;
  const beardColour = id.hairStyle === 'bald' && id.hairColour === 'white' ? '#dcdcdc' : hair;
  const beard =
    id.beard === 'full' ? `<path d="M${64 - g.rx + 2} 62 Q${64 - g.rx + 4} ${58 + g.ry + 8} 64 ${58 + g.ry + 8} Q${64 + g.rx - 4} ${58 + g.ry + 8} ${64 + g.rx - 2} 62 Q64 78 ${64 - g.rx + 2} 62Z" fill="${beardColour}"/>`
    : id.beard === 'moustache' ? `<path d="M53 72 Q64 66 75 72 Q64 70 53 72Z" fill="${beardColour}" stroke="${beardColour}" stroke-width="3"/>`
    : id.beard === 'goatee' ? `<rect x="59" y="${58 + g.ry - 8}" width="10" height="12" rx="4" fill="${beardColour}"/>`
    : '';
  const glasses =
    id.glasses === 'round' ? `<circle cx="53" cy="54" r="7" fill="none" stroke="#111" stroke-width="2"/><circle cx="75" cy="54" r="7" fill="none" stroke="#111" stroke-width="2"/><line x1="60" y1="54" x2="68" y2="54" stroke="#111" stroke-width="2"/>`
    : id.glasses === 'square' ? `<rect x="45" y="48" width="16" height="12" fill="none" stroke="#111" stroke-width="2"/><rect x="67" y="48" width="16" height="12" fill="none" stroke="#111" stroke-width="2"/><line x1="61" y1="54" x2="67" y2="54" stroke="#111" stroke-width="2"/>`
    : id.glasses === 'sunglasses' ? `<rect x="44" y="48" width="18" height="11" rx="4" fill="#111"/><rect x="66" y="48" width="18" height="11" rx="4" fill="#111"/><line x1="62" y1="52" x2="66" y2="52" stroke="#111" stroke-width="2"/>`
    : '';
  const ears = `<ellipse cx="${64 - g.rx}" cy="58" rx="4" ry="7" fill="${skin}"/><ellipse cx="${64 + g.rx}" cy="58" rx="4" ry="7" fill="${skin}"/>`;
  const earrings = id.earrings ? `<circle cx="${64 - g.rx}" cy="67" r="2.5" fill="#f1c232"/><circle cx="${64 + g.rx}" cy="67" r="2.5" fill="#f1c232"/>` : '';
  const person =
    hairBack(id, hair, g.rx) +
    garmentSvg(v) +
    `<rect x="56" y="78" width="16" height="16" fill="${skin}"/>` +
    ears + g.shape(skin) + earrings + brows + eyes + nose + beard + mouth + glasses +
    hairTop(id, hair, g.rx, top) + hatSvg(id, g.rx, top);
  // Portrait framing: the head (centred at y = 58 in person coordinates) fills most of the frame, as in
  // face datasets, so identity outweighs background at the model's small input size; the neckline
  // with the garment's mark stays in frame for the captions.
  const t = `translate(${64 + v.dx} ${56 + v.dy}) rotate(${v.angle}) scale(${(PORTRAIT_ZOOM * v.scale).toFixed(3)}) translate(-64 -58)`;
  return (
    '<svg xmlns="http://www.w3.org/2000/svg" width="128" height="128" viewBox="0 0 128 128">' +
    backgroundSvg(v.background, v.pattern) +
    `<g transform="${t}">${person}</g>` +
    lightSvg(v.light) +
    '</svg>'
  );
}
