/**
 * The CLEAR benchmark: the six image tasks of docs/SPEC.md §4 and how they combine (docs/SPEC.md §5).
 */
import { type BenchmarkSpec, DEFAULT_DS_SIZE } from '../src/eval/benchmark.ts';

const caption = { dataset: 'clear', question: 'random_caption', image: true, groundTruth: 'caption', paraphrase: 'paraphrased_caption', perturbed: 'perturbed_captions', probability: 'plain', dsSize: DEFAULT_DS_SIZE } as const;
const faceRec = { dataset: 'clear', question: 'random_faces', image: true, groundTruth: 'name', paraphrase: 'name', perturbed: 'perturbed_names', probability: 'option_normalised', dsSize: DEFAULT_DS_SIZE } as const;

export const clear: BenchmarkSpec = {
  name: 'clear',
  description: 'CLEAR image tasks: Forget, Retain, Forget FaceRec, Retain FaceRec, Real Faces, Real World',
  tasks: [
    { id: 'forget', title: 'Forget', config: '{split}_perturbed', kind: 'forget', ...caption },
    { id: 'retain', title: 'Retain', config: 'retain_perturbed', kind: 'other', ...caption },
    { id: 'forget_facerec', title: 'Forget FaceRec', config: '{split}_perturbed', kind: 'forget', ...faceRec },
    { id: 'retain_facerec', title: 'Retain FaceRec', config: 'retain_perturbed', kind: 'other', ...faceRec },
    {
      id: 'real_faces', title: 'Real Faces', dataset: 'clear', config: 'real_faces', question: 'random_faces', image: true,
      groundTruth: 'answer', paraphrase: 'answer', perturbed: 'options', kind: 'other', probability: 'option_normalised', dsSize: DEFAULT_DS_SIZE,
    },
    {
      id: 'real_world', title: 'Real World', dataset: 'clear', config: 'real_world', question: 'column', image: true,
      groundTruth: 'answer', paraphrase: 'answer', perturbed: 'options', kind: 'other', probability: 'option_normalised', dsSize: DEFAULT_DS_SIZE,
    },
  ],
  forgetQualityTask: 'forget',
  utilityTasks: ['real_faces', 'real_world', 'retain', 'retain_facerec'],
  paper: { real: ['real_faces', 'real_world'], retain: ['retain', 'retain_facerec'], forget: ['forget', 'forget_facerec'] },
  mia: { memberTask: 'forget', holdoutConfigs: ['holdout_perturbed'] },
  extractionTask: 'forget',
  relearn: { tasks: ['forget', 'forget_facerec'] },
};
