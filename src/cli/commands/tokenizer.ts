import { existsSync, readFileSync } from 'node:fs';
import { Command } from 'commander';
import { UserError } from '../../util/errors.ts';
import { positiveInt } from '../options.ts';
import { DEFAULT_MIN_FREQUENCY, DEFAULT_VOCAB_SIZE, trainBpe } from '../../models/tokenizer/bpe-trainer.ts';
import { saveTokenizerJson } from '../../models/tokenizer/tokenizer-json.ts';
import { Tokenizer } from '../../models/tokenizer/tokenizer.ts';

/** Non-empty lines of the input files: one training text per line. */
function readTexts(files: string[]): string[] {
  const texts: string[] = [];
  for (const file of files) {
    let content: string;
    try {
      content = readFileSync(file, 'utf8');
    } catch (err) {
      throw new UserError(`cannot read input file ${file} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}); pass existing text files with --input`);
    }
    for (const line of content.split(/\r?\n/)) if (line.length > 0) texts.push(line);
  }
  if (texts.length === 0) throw new UserError(`the input files hold no text; pass files with one training text per line`);
  return texts;
}

export function registerTokenizer(program: Command): void {
  const tokenizer = program.command('tokenizer').description('train and inspect byte-level BPE tokenizers (Hugging Face tokenizer.json)');

  tokenizer
    .command('train')
    .description('train a byte-level BPE with the chat special tokens on text files and write tokenizer.json')
    .requiredOption('-i, --input <files...>', 'text files, one training text per line')
    .requiredOption('-o, --out <file>', 'where to write tokenizer.json')
    .option('--vocab-size <n>', 'vocabulary size, including the 5 special tokens and 256 byte symbols', positiveInt, DEFAULT_VOCAB_SIZE)
    .option('--min-frequency <n>', 'stop merging when the best pair occurs fewer times than this', positiveInt, DEFAULT_MIN_FREQUENCY)
    .option('--force', 'replace --out if it exists')
    .action((opts: { input: string[]; out: string; vocabSize: number; minFrequency: number; force?: boolean }) => {
      if (existsSync(opts.out) && !opts.force) throw new UserError(`${opts.out} already exists; pass --force to replace it or choose another --out`);
      const texts = readTexts(opts.input);
      const started = performance.now();
      const json = trainBpe(texts, { vocabSize: opts.vocabSize, minFrequency: opts.minFrequency });
      const seconds = (performance.now() - started) / 1000;
      saveTokenizerJson(opts.out, json);
      const bytes = texts.reduce((sum, t) => sum + Buffer.byteLength(t), 0);
      process.stdout.write(
        `wrote ${opts.out}: ${Object.keys(json.model.vocab).length} tokens (${json.model.merges.length} merges) from ${texts.length} texts, ${(bytes / 1e6).toFixed(2)} MB in ${seconds.toFixed(2)} s\n`,
      );
    });

  tokenizer
    .command('encode')
    .description('print the token ids and tokens of a text as JSON')
    .requiredOption('-t, --tokenizer <file>', 'tokenizer.json to use')
    .argument('<text>', 'the text to encode')
    .action((text: string, opts: { tokenizer: string }) => {
      const tok = Tokenizer.fromFile(opts.tokenizer);
      const ids = tok.encode(text);
      process.stdout.write(`${JSON.stringify({ ids, tokens: ids.map((id) => tok.idToToken(id)) })}\n`);
    });
}
