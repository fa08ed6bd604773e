/**
 * A small least-recently-used cache of decoded frames, shared by every clip of a reader, so a
 * trainer that samples a few frames at a time keeps the recent ones without holding the corpus.
 */
export class FrameCache {
  private readonly entries = new Map<string, Uint8Array>();

  constructor(readonly capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 0) throw new Error(`The frame cache holds a whole number of frames, 0 or more; got ${capacity}`);
  }

  /** The cached frame, or the one `decode` makes (then kept, dropping the least recently used). */
  get(key: string, decode: () => Uint8Array): Uint8Array {
    const hit = this.entries.get(key);
    if (hit) {
      // Re-insert: a Map iterates in insertion order, so the first key is the least recently used.
      this.entries.delete(key);
      this.entries.set(key, hit);
      return hit;
    }
    const frame = decode();
    if (this.capacity === 0) return frame;
    this.entries.set(key, frame);
    if (this.entries.size > this.capacity) this.entries.delete(this.entries.keys().next().value!);
    return frame;
  }

  get size(): number {
    return this.entries.size;
  }
}
