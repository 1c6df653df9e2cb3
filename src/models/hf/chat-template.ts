/**
 * The chat format of a Hugging Face checkpoint: tokenizer_config.json's `chat_template`, rendered with
 * `@huggingface/jinja` as transformers' apply_chat_template renders it (messages, add_generation_prompt,
 * bos_token, eos_token), then tokenized without added special tokens (the template writes them).
 *
 * A question–answer sample is the rendered conversation [user: question, assistant: answer]. The prompt is
 * the rendering of [user: question] with the generation prompt, which the full rendering must start with;
 * what follows is split around the answer text into (template text before the answer, e.g. Qwen3's empty
 * think block) · answer · (the end of the turn). The whole rendering is tokenized at once, as a processor
 * tokenizes the text the template wrote; the answer's tokens are those past the longest run the full ids share
 * with the tokenization of the text before the answer, up to the run they share with the text through its end.
 * Tokenizing the pieces one by one would agree for byte-level tokenizers (Llama 3, Qwen), whose pre-tokenizer
 * splits there anyway, but not for SentencePiece-style ones (Llama 2, llava-1.5, Mistral: a `Prepend ▁`
 * normalizer), which would start each piece with a word marker the model never saw: "ASSISTANT: It" would be
 * `: ▁▁ ▁It`, not `: ▁It`. Labels cover the answer tokens and the turn's end-of-turn token (the first token
 * after the answer, which generation stops on); everything else is IGNORE_LABEL.
 */
import { Template } from '@huggingface/jinja';
import { UserError } from '../../util/errors.ts';
import { IGNORE_LABEL } from '../../protocol/vocabulary.ts';
import { type Tokenizer } from '../tokenizer/tokenizer.ts';

/** A token string in tokenizer_config.json: a plain string or an AddedToken object. */
export function tokenString(v: unknown): string | undefined {
  if (typeof v === 'string') return v;
  if (v && typeof v === 'object' && typeof (v as { content?: unknown }).content === 'string') return (v as { content: string }).content;
  return undefined;
}

export interface ChatTemplateConfig {
  template: string;
  bosToken?: string;
  eosToken?: string;
  /** A vision–language model's image token string (LLaVA's `<image>`); image turns need it. */
  imageToken?: string;
  /** Render message content as typed parts (a vision–language processor's template; see readsTypedContent). */
  typedContent?: boolean;
}

/**
 * Whether a template reads typed message content (`[{type: 'image'}, {type: 'text', text}]`, as processors'
 * templates do) rather than a plain string.
 */
export function readsTypedContent(template: string): boolean {
  return /['"]type['"]|\.type\b/.test(template);
}

export interface EncodedTurn {
  ids: number[];
  labels: number[];
  /** Index of the first answer token (the prompt's length plus any template text before the answer). */
  answerStart: number;
}

type Encoder = Pick<Tokenizer, 'encode'>;

/** The date Llama 3.x templates print when strftime_now is unavailable; fixed so prompts are reproducible. */
export const DATE_STRING = '26 Jul 2024';

export class ChatTemplate {
  private readonly template: Template;

  private readonly typed: boolean;

  constructor(readonly config: ChatTemplateConfig, private readonly source: string) {
    this.typed = config.typedContent ?? false;
    try {
      this.template = new Template(config.template);
    } catch (err) {
      throw new UserError(`${source}: chat_template does not parse (${(err as Error).message})`);
    }
  }

  /** The rendered text of a conversation. */
  render(messages: readonly { role: string; content: unknown }[], addGenerationPrompt: boolean): string {
    try {
      return this.template.render({
        messages,
        // transformers (and transformers.js) pass tools and documents as None when there are none; templates
        // such as Llama 3.1's test `tools is not none`, which an undefined value would pass.
        tools: null,
        documents: null,
        // Llama 3.1/3.2 templates write "Today Date: strftime_now(...)" unless date_string is given, which would make
        // prompts (and every score) depend on the calendar; the templates' own fallback date is used instead.
        date_string: DATE_STRING,
        add_generation_prompt: addGenerationPrompt,
        bos_token: this.config.bosToken ?? '',
        eos_token: this.config.eosToken ?? '',
      });
    } catch (err) {
      throw new UserError(`${this.source}: chat_template failed to render (${(err as Error).message})`);
    }
  }

  /**
   * A turn's message content: typed parts for templates that read them (the image part first, as LLaVA's
   * processor places it), else the text, after `<image>\n` for an image turn (LLaVA's original prompt).
   */
  private content(text: string, image: boolean): unknown {
    if (image && !this.config.imageToken) throw new UserError(`${this.source}: image turns need a vision–language model's image token`);
    if (this.typed) return [...(image ? [{ type: 'image' }] : []), { type: 'text', text }];
    return image ? `${this.config.imageToken}\n${text}` : text;
  }

  /** The generation prompt of a question. */
  prompt(question: string, image = false): string {
    return this.render([{ role: 'user', content: this.content(question, image) }], true);
  }

  /** The rendered conversation split into prompt · before · answer · after (see the module comment). */
  split(question: string, answer: string, image = false): { prompt: string; before: string; answer: string; after: string } {
    const prompt = this.prompt(question, image);
    const full = this.render([{ role: 'user', content: this.content(question, image) }, { role: 'assistant', content: this.content(answer, false) }], false);
    if (!full.startsWith(prompt)) {
      throw new UserError(`${this.source}: the chat_template's rendering of a question and answer does not start with its generation prompt, so the answer tokens cannot be told apart`);
    }
    const rest = full.slice(prompt.length);
    // Templates may trim the content (Llama 3's `| trim`); the answer is what the template wrote.
    for (const a of [answer, answer.trim()]) {
      const at = a.length ? rest.indexOf(a) : -1;
      if (at >= 0) return { prompt, before: rest.slice(0, at), answer: a, after: rest.slice(at + a.length) };
    }
    throw new UserError(`${this.source}: the chat_template does not write the answer ${JSON.stringify(answer.slice(0, 60))} as given, so its tokens cannot be labelled`);
  }

  /**
   * Ids and labels of one turn; without an answer, the generation prompt alone. `specialIds` are refused
   * inside the question or answer text (they would move the turn markers).
   */
  encode(tok: Encoder, question: string, answer: string | undefined, specialIds: ReadonlySet<number>, image = false): EncodedTurn {
    const plain = (text: string, what: string): number[] => {
      const ids = tok.encode(text);
      if (ids.some((id) => specialIds.has(id))) throw new UserError(`the ${what} ${JSON.stringify(text.slice(0, 60))} contains the text of a special token; remove it from the data`);
      return ids;
    };
    plain(question, 'question');
    if (answer === undefined) {
      const ids = tok.encode(this.prompt(question, image));
      return { ids, labels: ids.map(() => IGNORE_LABEL), answerStart: ids.length };
    }
    const s = this.split(question, answer, image);
    plain(s.answer, 'answer');
    const ids = tok.encode(s.prompt + s.before + s.answer + s.after);
    const start = sharedPrefix(tok.encode(s.prompt + s.before), ids);
    const stop = sharedPrefix(tok.encode(s.prompt + s.before + s.answer), ids);
    if (stop <= start) {
      throw new UserError(`${this.source}: the answer ${JSON.stringify(answer.slice(0, 60))} has no tokens of its own in the rendered conversation (the tokenizer merges it into the text around it), so it cannot be labelled`);
    }
    const end = stop < ids.length && specialIds.has(ids[stop]) ? stop + 1 : stop;
    return {
      ids,
      labels: ids.map((id, i) => (i >= start && i < end ? id : IGNORE_LABEL)),
      answerStart: start,
    };
  }

  /** The token string that ends an assistant turn (the first text after the answer), if the template writes one. */
  endOfTurn(tok: Pick<Tokenizer, 'encode' | 'idToToken'>, specialIds: ReadonlySet<number>): string | undefined {
    const after = tok.encode(this.split('Hi', 'Hello').after);
    return after.length && specialIds.has(after[0]) ? tok.idToToken(after[0]) : undefined;
  }
}

/** How many leading ids `a` and `b` share. */
function sharedPrefix(a: readonly number[], b: readonly number[]): number {
  let k = 0;
  while (k < a.length && k < b.length && a[k] === b[k]) k++;
  return k;
}
