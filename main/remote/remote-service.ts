/**
 * The studio's "Remote workers" setting: the Redis URL (tested before it is kept), the
 * connection to the queue (./remote-runs.ts) handed to the job manager as its remote target,
 * and what the settings page and the workers list show. A Redis that goes away is reported in
 * the status; local runs go on training meanwhile.
 */
import type { RemoteStatus } from '../../shared/api/schemas';
import type { JobManager } from '../jobs/job-manager';
import type { Store } from '../store';
import { checkRedisUrl, type ConnectionTest, maskRedisUrl, testRedis } from './connection';
import { RemoteRuns } from './remote-runs';
import { RemoteSettingsFile } from './remote-settings';

export class RemoteService {
  private runs: RemoteRuns | null = null;
  private readonly settings: RemoteSettingsFile;

  constructor(
    private readonly store: Store,
    private readonly jobs: JobManager,
  ) {
    this.settings = RemoteSettingsFile.besideDatabase(store.path);
    const { url } = this.settings.get();
    if (url) this.connect(url);
  }

  test(url: string): Promise<ConnectionTest> {
    return testRedis(checkRedisUrl(url));
  }

  /** Use this Redis from now on (tested first: a URL that does not answer changes nothing), or none (null). */
  async configure(url: string | null): Promise<RemoteStatus> {
    const checked = url === null ? null : checkRedisUrl(url);
    if (checked) await testRedis(checked);
    await this.disconnect();
    this.settings.update({ url: checked });
    if (checked) await this.connect(checked).ready();
    return this.status();
  }

  async status(): Promise<RemoteStatus> {
    const { url, studioId } = this.settings.get();
    const runs = this.runs;
    if (!url || !runs) return { url: null, studioId, connected: false, problem: null, workers: [], runs: [] };
    let workers: RemoteStatus['workers'] = [];
    if (runs.connected) {
      try {
        const listed = await Promise.race([runs.workers(), new Promise<never>((_, reject) => setTimeout(() => reject(new Error('timeout')), 2000).unref())]);
        workers = listed.map((w) => ({ ...w, busy: w.running.length > 0 }));
      } catch {
        // Redis went away between the check and the call: reported below.
      }
    }
    return { url: maskRedisUrl(url), studioId, connected: runs.connected, problem: runs.problem, workers, runs: runs.activeRuns() };
  }

  async close(): Promise<void> {
    await this.disconnect();
  }

  private connect(url: string): RemoteRuns {
    return (this.runs = this.jobs.setRemote((sink) => new RemoteRuns({ store: this.store, url, settings: this.settings, sink })) as RemoteRuns);
  }

  private async disconnect(): Promise<void> {
    const runs = this.runs;
    this.runs = null;
    this.jobs.setRemote(null);
    await runs?.close();
  }
}
