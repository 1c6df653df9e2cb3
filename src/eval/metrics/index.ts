/** The evaluation metrics of docs/SPEC.md §5: pure functions over per-token and per-sample numbers. */
export { rougeL, rougeLRecall, rougeTokenize, lcsLength, type RougeScore } from './rouge.ts';
export { porterStem } from './porter-stemmer.ts';
export { ks2samp, MAX_AUTO_N, type KsResult } from './ks.ts';
export { kstwoSf, smirnovSf } from './kolmogorov.ts';
export { jensenShannonDistance } from './jensen-shannon.ts';
export {
  meanLoss,
  probFromLoss,
  captionProbability,
  optionNormalisedSampleProbability,
  optionNormalisedProbability,
  truthRatios,
  reportedTruthRatio,
  truthRatioPlus,
  forgetQualityKS,
  forgetQualityJS,
  harmonicMean,
  utility,
  type SampleLosses,
  type TaskScores,
  type TruthRatioCompat,
  type TaskKind,
} from './formulas.ts';
export {
  DEFAULT_MIN_K,
  lossScore,
  zlibLength,
  zlibScore,
  minKScore,
  minKPlusPlusScore,
  miaAuc,
  privleak,
} from './mia.ts';
export { rocAuc } from './roc-auc.ts';
export { extractionStrength, exactMemorization } from './extraction.ts';
export { meanInterval, studentTQuantileTwoSided, type MeanInterval } from './stats.ts';
