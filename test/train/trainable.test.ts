/**
 * The trainable-parameter rule shared by fine-tuning and unlearning (src/train/trainable.ts): frozen prefixes,
 * LoRA adapters only, and a frozen prefix that names no parameter of the model refused with where it was set.
 */
import { describe, expect, test } from '@jest/globals';
import { Tokenizer, trainBpe } from '../../src/models/tokenizer/index.ts';
import { initPresetModel } from '../../src/models/vlm-model.ts';
import { addLora } from '../../src/models/lora.ts';
import { trainableNames } from '../../src/train/trainable.ts';

const tok = Tokenizer.fromJSON(trainBpe(['a photo of a person', 'who is this person?'], { vocabSize: 300 }));
const model = () => initPresetModel('tiny', tok, 1);

describe('trainableNames', () => {
  test('frozen prefixes keep those parameters out; [] trains everything; null is the model kind\'s default', () => {
    const m = model();
    const all = m.params.names();
    expect(trainableNames(m, [])).toEqual(all);
    const unfrozen = trainableNames(m, ['vision.']);
    expect(unfrozen.length).toBeGreaterThan(0);
    expect(unfrozen).toEqual(all.filter((n) => !n.startsWith('vision.')));
    expect(trainableNames(m, null)).toEqual(all.filter((n) => m.defaultTrainable(n)));
  });

  test('with LoRA adapters only the adapters train, and a frozen layer\'s adapters stay frozen', () => {
    const m = model();
    addLora(m.params, { rank: 2, alpha: 4, targets: ['lm.blocks.*.attn.qkv', 'vision.blocks.*.attn.qkv'] }, 1);
    const names = trainableNames(m, ['vision.']);
    expect(names.length).toBeGreaterThan(0);
    expect(names.every((n) => /\.lora_[AB]$/.test(n) && !n.startsWith('vision.'))).toBe(true);
  });

  test('a frozen prefix that matches no parameter is refused in one line naming the prefix, the key and what the model has', () => {
    const m = model();
    const run = () => trainableNames(m, ['vision.', 'model.vision_tower.'], undefined, 'unlearning.frozen');
    expect(run).toThrow(/^unlearning\.frozen prefix 'model\.vision_tower\.' matches no parameter of this model \(its parameters start with .*vision\..*\); name a prefix it has, or drop it from unlearning\.frozen$/);
  });
});
