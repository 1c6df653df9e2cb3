/**
 * Which configs of each repository a run reads, derived from its plan: the recipes' persons (target:
 * `full`, gold: `retainNN`), the unlearning's forget and retain persons in each modality it uses, every
 * task of every benchmark, and the base model's data (the dataset's `pretrain`, or emulated pretraining on
 * the utility sets where the dataset has none). The data stage downloads exactly these, after checking the
 * dataset card has every required one at the revision.
 */
import { getBenchmark } from '../../benchmarks/index.ts';
import { configFor } from '../eval/benchmark.ts';
import { type BaseData } from '../results/contract.ts';
import { EMULATED_PRETRAINING } from '../train/recipes.ts';
import { type ForgetSplit, type Modality, RETAIN_SPLIT_OF } from '../protocol/vocabulary.ts';

export interface RepoNeeds {
  /** Configs the run cannot do without. */
  required: string[];
  /** Configs used when the repository has them (held-out persons for membership inference). */
  optional: string[];
}

export interface DataNeeds {
  clear: RepoNeeds;
  /** null: the run reads no TOFU text. */
  tofu: RepoNeeds | null;
}

export interface NeedsInput {
  splits: readonly ForgetSplit[];
  benchmarks: readonly string[];
  /** Every modality some unlearning stage uses. */
  modalities: readonly Modality[];
  /** Whether the data has a TOFU companion (then target and gold train on its QA too). */
  tofu: boolean;
  base: BaseData;
}

const sorted = (xs: Iterable<string>) => [...new Set(xs)].sort();

export function dataNeeds(n: NeedsInput): DataNeeds {
  const clear = new Set<string>(['full', 'real_faces']); // real_faces: the base's well-known faces, in every base
  const tofu = new Set<string>(n.tofu ? ['full'] : []);
  const optional = { clear: new Set<string>(), tofu: new Set<string>() };
  const vision = n.modalities.some((m) => m !== 'text');
  const text = n.modalities.some((m) => m !== 'vision');
  for (const split of n.splits) {
    const retain = RETAIN_SPLIT_OF[split];
    clear.add(retain);
    if (n.tofu) tofu.add(retain);
    if (vision) clear.add(split);
    if (text) tofu.add(split);
  }
  if (n.base === 'pretrain') clear.add('pretrain');
  else {
    for (const c of EMULATED_PRETRAINING.clear) clear.add(c);
    if (n.tofu) for (const c of EMULATED_PRETRAINING.tofu) tofu.add(c);
  }
  for (const name of n.benchmarks) {
    const b = getBenchmark(name);
    for (const split of n.splits) {
      for (const t of b.tasks) (t.dataset === 'clear' ? clear : tofu).add(configFor(t, split));
      const member = b.tasks.find((t) => t.id === b.mia.memberTask)!;
      for (const h of b.mia.holdoutConfigs) (member.dataset === 'clear' ? optional.clear : optional.tofu).add(configFor({ config: h }, split));
    }
  }
  return {
    clear: { required: sorted(clear), optional: sorted(optional.clear) },
    tofu: n.tofu ? { required: sorted(tofu), optional: sorted(optional.tofu) } : null,
  };
}
