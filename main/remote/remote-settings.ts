/**
 * What the studio remembers about its remote queue, beside its database (`<db>.remote.json`):
 * the Redis URL, this studio's id (its stream and file keys) and the id of the last stream entry
 * it applied, written only after the entries up to it are in SQLite, so a restart reads on from
 * there. An in-memory database keeps them in memory.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';

export interface RemoteSettings {
  url: string | null;
  studioId: string;
  lastEventId: string;
}

export class RemoteSettingsFile {
  private value: RemoteSettings;

  constructor(private readonly file: string | null) {
    this.value = { url: null, studioId: crypto.randomBytes(8).toString('hex'), lastEventId: '0' };
    if (file && fs.existsSync(file)) {
      try {
        this.value = { ...this.value, ...(JSON.parse(fs.readFileSync(file, 'utf8')) as Partial<RemoteSettings>) };
      } catch (error) {
        throw new Error(`${file} cannot be read (${(error as Error).message}): fix or delete it; the remote queue's settings are kept there.`);
      }
    }
  }

  static besideDatabase(dbPath: string): RemoteSettingsFile {
    return new RemoteSettingsFile(dbPath === ':memory:' ? null : `${dbPath}.remote.json`);
  }

  get(): RemoteSettings {
    return { ...this.value };
  }

  update(patch: Partial<RemoteSettings>): void {
    this.value = { ...this.value, ...patch };
    if (!this.file) return;
    // Owner-only (the URL may carry the Redis password), and renamed into place whole.
    fs.writeFileSync(`${this.file}.partial`, JSON.stringify(this.value, null, 2), { mode: 0o600 });
    fs.renameSync(`${this.file}.partial`, this.file);
  }
}
