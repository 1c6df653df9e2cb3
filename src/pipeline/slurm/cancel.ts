/**
 * Cancelling a Slurm run: scancel every job of the manifest still queued or running (stages and the
 * report job), and mark them in the manifest, so status reads them as cancelled rather than skipped.
 */
import { scancel } from './executor.ts';
import { type SlurmManifest, writeManifest } from './manifest.ts';
import { isActive, runStatus } from './status.ts';

/** Resolves to the job ids cancelled. */
export async function cancelRun(m: SlurmManifest): Promise<string[]> {
  const st = await runStatus(m);
  const live = new Set(st.stages.filter(isActive).map((s) => s.job_id!));
  const report = st.report && (st.report.status === 'queued' || st.report.status === 'running') ? st.report.job_id : null;
  const ids = [...live, ...(report ? [report] : [])];
  if (!ids.length) return [];
  // Marked first: a job cancelled between the scancel and the write would otherwise read as skipped.
  writeManifest({
    ...m,
    stages: m.stages.map((s) => (s.job_id && live.has(s.job_id) ? { ...s, cancelled: true } : s)),
    report: m.report && report ? { ...m.report, cancelled: true } : m.report,
  });
  await scancel(ids);
  return ids;
}
