/**
 * The leaderboard's metric columns: where each value comes from in the result files,
 * which direction is better, and how many digits a table shows.
 */
import type { EvalSummary, ModelMeta } from '../results/contract.ts';

/** up: higher is better; down: lower is better; zero: closest to 0 is better; none: no ranking. */
export type Direction = 'up' | 'down' | 'zero' | 'none';

export interface Metric {
  key: string;
  /** Column header without the direction arrow. */
  label: string;
  direction: Direction;
  /** Shown in the human-readable tables (Markdown, LaTeX, HTML); CSV and JSON carry every metric. */
  inTable: boolean;
  /** 'fixed' prints `digits` decimals; 'pvalue' switches to scientific notation below 1e-3. */
  style: 'fixed' | 'pvalue';
  digits: number;
  extract(summary: EvalSummary, meta: ModelMeta): number | null;
  /** One line for the legend under the table. */
  description: string;
}

export const METRICS: readonly Metric[] = [
  {
    key: 'real', label: 'Real', direction: 'up', inTable: true, style: 'fixed', digits: 3,
    extract: (s) => s.paper.real,
    description: 'harmonic mean of Prob and Truth ratio on Real Faces and Real World',
  },
  {
    key: 'retain', label: 'Retain', direction: 'up', inTable: true, style: 'fixed', digits: 3,
    extract: (s) => s.paper.retain,
    description: 'harmonic mean of Prob and Truth ratio on Retain and Retain FaceRec',
  },
  {
    key: 'forget', label: 'Forget', direction: 'down', inTable: true, style: 'fixed', digits: 3,
    extract: (s) => s.paper.forget,
    description:
      'harmonic mean of Prob and TR⁺ = mean max(0, 1 − 1/R) on Forget and Forget FaceRec, oriented like Retain: ' +
      'high while the model knows the forget persons, low for gold (the CLEAR code\'s mean min(R, 1/R), which gives ' +
      'a model sure of every answer 0, is forget_clear_code in the CSV and JSON)',
  },
  {
    // Not ranked: min(R, 1/R) falls both when the model is sure (R ≫ 1) and when it prefers the wrong answers.
    key: 'forget_clear_code', label: 'Forget (CLEAR code)', direction: 'none', inTable: false, style: 'fixed', digits: 3,
    extract: (s) => s.paper.forget_clear_code,
    description: 'harmonic mean of Prob and mean min(R, 1/R) on Forget and Forget FaceRec, the CLEAR code\'s formula (mm/calculate_metrics.py)',
  },
  {
    key: 'forget_quality_js', label: 'Forget Quality', direction: 'up', inTable: true, style: 'fixed', digits: 3,
    // The paper table's Forget Quality is FQ_JS; older summaries may only carry it under paper.
    extract: (s) => s.forget_quality_js ?? s.paper.forget_quality,
    description: '1 − Jensen–Shannon distance between the truth ratios of the model and of gold (CLEAR paper)',
  },
  {
    key: 'model_utility', label: 'Model Utility', direction: 'up', inTable: true, style: 'fixed', digits: 3,
    extract: (s) => s.model_utility,
    description: 'harmonic mean of ROUGE-L, Prob and Truth ratio on the four non-forget tasks',
  },
  {
    key: 'forget_quality_ks', label: 'FQ (KS)', direction: 'up', inTable: true, style: 'pvalue', digits: 3,
    extract: (s) => s.forget_quality_ks,
    description: 'p-value of the two-sample KS test between the truth ratios of the model and of gold',
  },
  {
    key: 'privleak', label: 'PrivLeak', direction: 'zero', inTable: true, style: 'fixed', digits: 1,
    extract: (s) => s.privacy?.privleak ?? null,
    description: 'relative gap (%) of the membership-inference AUC to gold; 0 is ideal',
  },
  {
    key: 'relearn_recovery', label: 'Relearn', direction: 'down', inTable: true, style: 'fixed', digits: 3,
    extract: (s) => s.relearn?.recovery ?? null,
    description: 'share of the forgetting undone by a short relearning attack',
  },
  {
    key: 'wall_s', label: 'Wall (s)', direction: 'down', inTable: true, style: 'fixed', digits: 1,
    extract: (_s, m) => m.wall_s,
    description: 'wall-clock seconds to train or unlearn the model',
  },
  {
    key: 'extraction_strength', label: 'Extraction strength', direction: 'down', inTable: false, style: 'fixed', digits: 3,
    extract: (s) => s.extraction?.extraction_strength ?? null,
    description: 'extraction strength on the forget set',
  },
  {
    key: 'exact_memorization', label: 'Exact memorization', direction: 'down', inTable: false, style: 'fixed', digits: 3,
    extract: (s) => s.extraction?.exact_memorization ?? null,
    description: 'share of forget answer tokens predicted exactly under teacher forcing',
  },
  ...(['loss', 'zlib', 'min_k', 'min_k_pp'] as const).map((k): Metric => ({
    key: `mia_auc_${k}`, label: `MIA AUC (${k})`, direction: 'none', inTable: false, style: 'fixed', digits: 3,
    extract: (s) => s.privacy?.mia_auc?.[k] ?? null,
    description: `ROC AUC of the ${k} membership-inference attack, forget vs held-out persons`,
  })),
];

export const TABLE_METRICS: readonly Metric[] = METRICS.filter((m) => m.inTable);

export function metricByKey(key: string): Metric | undefined {
  return METRICS.find((m) => m.key === key);
}

/** Task-level quantities in summary.json, drawn in the per-task bar chart. */
export const TASK_QUANTITIES = ['prob', 'rougeL_recall', 'truth_ratio'] as const;
export type TaskQuantity = (typeof TASK_QUANTITIES)[number];
