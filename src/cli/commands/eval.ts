import { join } from 'node:path';
import { Command, Option } from 'commander';
import { positiveInt, positiveNumber, seedInt } from '../options.ts';
import { UserError } from '../../util/errors.ts';
import { resolveCacheDir } from '../../data/cache-dir.ts';
import { BENCHMARKS, getBenchmark } from '../../../benchmarks/index.ts';
import { DEFAULT_FORGET_SPLIT, FORGET_SPLITS } from '../../protocol/vocabulary.ts';
import { evaluate } from '../../eval/evaluate.ts';
import { locateModel } from '../../eval/load-model.ts';
import { evalDir } from '../../results/layout.ts';
import { type TruthRatioCompat } from '../../eval/metrics/index.ts';

interface EvalFlags {
  model: string;
  benchmark: string;
  forgetSplit: string;
  gold?: string;
  out?: string;
  data?: string;
  dsSize?: number;
  maxNewTokens?: number;
  relearn?: number;
  relearnLr?: number;
  truthRatio: TruthRatioCompat;
  seed: number;
  threads?: number;
  batchSize?: number;
  name?: string;
  cacheDir?: string;
}

const fmt = (v: number | null) => (v === null ? '—' : Math.abs(v) < 1e-3 && v !== 0 ? v.toExponential(2) : v.toFixed(4));

/** `clearbench eval`: evaluate one model checkpoint on a benchmark (README "Evaluation output format"). */
export function registerEval(program: Command): void {
  program
    .command('eval')
    .description('evaluate a model checkpoint on a benchmark: per-task <task>.samples.json, mia.samples.json and summary.json')
    .requiredOption('--model <dir>', 'model directory (as clearbench train writes it) or checkpoint directory')
    .addOption(new Option('--benchmark <name>', 'benchmark').choices(Object.keys(BENCHMARKS)).default('clear'))
    .addOption(new Option('--forget-split <split>', 'forget split').choices([...FORGET_SPLITS]).default(DEFAULT_FORGET_SPLIT))
    .option('--gold <evaldir>', "the gold model's evaluation directory (same benchmark and split): forget quality and privleak")
    .option('--out <dir>', 'output directory (default: <model dir>/eval/<benchmark>-<forget split>)')
    .option('--data <dir>', 'CLEAR-layout dataset directory (e.g. a clearbench synth output; TOFU text in <dir>/tofu)')
    .option('--ds-size <n>', 'cap every task at its first n rows (default 300)', positiveInt)
    .option('--max-new-tokens <n>', 'generation budget (default 300, or what the longest prompt leaves of the model positions)', positiveInt)
    .option('--relearn <steps>', 'relearning attack: fine-tune a copy on half of the forget set for this many steps', positiveInt)
    .option('--relearn-lr <lr>', 'relearning learning rate (default 1e-3)', positiveNumber)
    .addOption(new Option('--truth-ratio <form>', 'truth ratio: per-sample TOFU form, or the CLEAR code\'s dataset-wide mean').choices(['tofu', 'clear-code']).default('tofu'))
    .option('--seed <n>', 'seed of the caption questions and the relearning attack', seedInt, 0)
    .option('--threads <n>', 'onnxruntime intra-op threads (default 2 or $CLEARBENCH_THREADS)', positiveInt)
    .option('--batch-size <n>', 'rows per scoring and generation batch (default 16)', positiveInt)
    .option('--name <name>', 'model name written into summary.json (default: the model directory name)')
    .option('--cache-dir <dir>', 'cache of decoded images (default $CLEARBENCH_CACHE or ~/.cache/clearbench)')
    .action(async (o: EvalFlags) => {
      if (!o.data) throw new UserError('eval needs the dataset: pass --data <dir> (a CLEAR-layout directory, e.g. from `clearbench synth --out <dir>`)');
      const outDir = o.out ?? evalDir(locateModel(o.model).modelDir, o.benchmark, o.forgetSplit);
      const { summary, timing } = await evaluate({
        model: o.model,
        modelName: o.name,
        dataDir: o.data,
        benchmark: getBenchmark(o.benchmark),
        forgetSplit: o.forgetSplit,
        gold: o.gold,
        outDir,
        dsSize: o.dsSize,
        maxNewTokens: o.maxNewTokens,
        seed: o.seed,
        truthRatio: o.truthRatio,
        relearn: o.relearn,
        relearnLr: o.relearnLr,
        threads: o.threads,
        batchSize: o.batchSize,
        generationBatchSize: o.batchSize,
        cacheDir: join(resolveCacheDir(o.cacheDir), 'tensors'),
        onProgress: (m) => process.stderr.write(`${m}\n`),
      });
      const s = summary;
      const lines = [
        `${s.model ?? 'model'} on ${s.benchmark}/${s.forget_split} → ${outDir}`,
        ...Object.entries(s.tasks).map(([id, t]) => `  ${id.padEnd(16)} prob ${fmt(t.prob)}  ROUGE-L ${fmt(t.rougeL_recall)}  truth ratio ${fmt(t.truth_ratio)}  (n ${t.n})`),
        `  model utility ${fmt(s.model_utility)}   forget quality KS ${fmt(s.forget_quality_ks)}  JS ${fmt(s.forget_quality_js)}`,
        `  paper: real ${fmt(s.paper.real)}  retain ${fmt(s.paper.retain)}  forget ${fmt(s.paper.forget)}  forget quality ${fmt(s.paper.forget_quality)}`,
        s.privacy ? `  MIA AUC loss ${fmt(s.privacy.mia_auc.loss)}  zlib ${fmt(s.privacy.mia_auc.zlib)}  min-k ${fmt(s.privacy.mia_auc.min_k)}  min-k++ ${fmt(s.privacy.mia_auc.min_k_pp)}  privleak ${fmt(s.privacy.privleak)}` : '  MIA: skipped (no holdout config)',
        s.extraction ? `  extraction strength ${fmt(s.extraction.extraction_strength)}  exact memorisation ${fmt(s.extraction.exact_memorization)}` : '',
        s.relearn ? `  relearn ${s.relearn.steps} steps: forget prob ${fmt(s.relearn.forget_prob_before)} → ${fmt(s.relearn.forget_prob_after)}, recovery ${fmt(s.relearn.recovery)}` : '',
        `  time: scoring ${timing.scoring_s.toFixed(2)} s, generation ${timing.generation_s.toFixed(2)} s, total ${timing.total_s.toFixed(2)} s`,
      ];
      process.stdout.write(`${lines.filter(Boolean).join('\n')}\n`);
    });
}
