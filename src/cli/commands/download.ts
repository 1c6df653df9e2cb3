import { Command } from 'commander';
import { positiveInt } from '../options.ts';
import { downloadRepo } from '../../data/hub/download.ts';
import { terminalProgress } from '../../data/hub/progress.ts';
import { resolveCacheDir } from '../../data/cache-dir.ts';
import { UserError } from '../../util/errors.ts';

interface DownloadFlags {
  dataset: string;
  model?: string;
  configs: string;
  revision: string;
  cacheDir?: string;
  hubUrl?: string;
  token?: string;
  offline?: boolean;
  refresh?: boolean;
  concurrency: number;
}

/** `clearbench download`: fetch CLEAR (or TOFU), or a model with --model, from the hub into the cache, verified. */
export function registerDownload(program: Command): void {
  program
    .command('download')
    .description('download a dataset repo (therem/CLEAR, locuslab/TOFU), or a model repo with --model, into the cache, verifying every file')
    .option('--dataset <repo>', 'dataset repo id on the hub', 'therem/CLEAR')
    .option('--model <repo>', 'a model repo id instead (its config, tokenizer and safetensors weights); model.hf may then name it')
    .option('--configs <list>', "comma-separated config names, or 'all'", 'all')
    .option('--revision <rev>', 'branch, tag or commit', 'main')
    .option('--cache-dir <dir>', 'cache directory (default $CLEARBENCH_CACHE or ~/.cache/clearbench)')
    .option('--hub-url <url>', 'hub endpoint (default $HF_ENDPOINT or https://huggingface.co)')
    .option('--token <token>', 'access token for gated repos (default $HF_TOKEN); never printed')
    .option('--offline', 'use only the cache; fail if it lacks a requested file')
    .option('--refresh', 'ask the hub even when the cache already holds the revision')
    .option('--concurrency <n>', 'files downloaded at once', positiveInt, 4)
    .action(async (o: DownloadFlags, cmd: Command) => {
      const given = (name: string) => cmd.getOptionValueSource(name) === 'cli';
      if (o.model !== undefined && (given('dataset') || given('configs'))) throw new UserError('--model downloads a model repo; it takes neither --dataset nor --configs');
      const configs = o.model !== undefined ? undefined : o.configs.trim() === 'all' ? 'all' : o.configs.split(',').map((s) => s.trim()).filter(Boolean);
      const progress = terminalProgress();
      const repo = o.model ?? o.dataset;
      const r = await downloadRepo({
        repo,
        type: o.model !== undefined ? 'model' : 'dataset',
        revision: o.revision,
        configs,
        cacheDir: resolveCacheDir(o.cacheDir),
        hubUrl: o.hubUrl,
        token: o.token,
        offline: o.offline,
        refresh: o.refresh,
        concurrency: o.concurrency,
        progress,
      });
      const how = r.offline ? 'from the cache (no network)' : `${r.downloaded.length} file(s) downloaded, ${r.skipped.length} already cached`;
      const what = o.model !== undefined ? 'model' : `${r.configs.length} config(s)`;
      process.stdout.write(`${repo}@${o.revision} (commit ${r.commit.slice(0, 12)}): ${what}, ${how}\n${r.dir}\n`);
    });
}
