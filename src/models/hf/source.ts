/**
 * Where a Hugging Face model named in a config (`model.hf`) lives: a local directory in the hub layout is
 * used as it is. Downloading a repo id is not implemented yet (the data layer's hub client reads dataset
 * repos); until it is, the error says how to fetch the files and point `model.hf` at them.
 */
import { existsSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { UserError } from '../../util/errors.ts';

export function resolveHfSource(hf: string, revision: string): string {
  if (existsSync(hf)) {
    if (!statSync(hf).isDirectory()) throw new UserError(`model.hf ${hf} is a file; point it at the model's directory`);
    return resolve(hf);
  }
  if (/^[\w.-]+\/[\w.-]+$/.test(hf)) {
    throw new UserError(
      `model.hf ${hf}@${revision}: downloading models from the hub is not implemented yet; fetch the repo (e.g. \`huggingface-cli download ${hf} --revision ${revision} --local-dir DIR\`) and set model.hf to DIR`,
    );
  }
  throw new UserError(`model.hf ${hf} is neither a directory nor a repo id (owner/name)`);
}
