/**
 * Where a run's dataset came from: the data stage records it in `<data>/.provenance.json` (the repos, the
 * revisions asked for and the commits they resolved to, the configs fetched, the synthetic generator's
 * settings, and what the base model trains on); every evaluation copies it into its summary.json, so a
 * table says exactly which data it came from.
 */
import { existsSync } from 'node:fs';
import { type BaseData, type DataProvenance, readDataProvenance } from '../results/contract.ts';
import { dataProvenancePath } from '../results/layout.ts';
import { writeFileAtomic } from '../util/atomic.ts';
import { type Dataset } from './dataset.ts';

export function writeDataProvenance(dataDir: string, p: DataProvenance): void {
  writeFileAtomic(dataProvenancePath(dataDir), `${JSON.stringify(p, null, 2)}\n`);
}

/** The base data a dataset's configs (as its card or layout names them) give: its pretrain config when it has one, else emulated pretraining. */
export function baseDataOf(configs: readonly string[]): BaseData {
  return configs.includes('pretrain') ? 'pretrain' : 'emulated';
}

/** The recorded provenance of a data directory, or (a directory made outside a run) what the dataset itself says. */
export function dataProvenanceOf(dataDir: string, clear: Pick<Dataset, 'configs'>): DataProvenance {
  const file = dataProvenancePath(dataDir);
  if (existsSync(file)) return readDataProvenance(file);
  return { source: 'local', clear: null, tofu: null, synthetic: null, base_data: baseDataOf(clear.configs()) };
}
