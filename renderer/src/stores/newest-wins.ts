/**
 * Answers that can come back out of order (the web host answers parallel requests as they finish)
 * must not overwrite newer ones: a queue listing asked before a reorder but answered after it put
 * the old order back on screen, and a memory listing asked before the first step's samples were
 * recorded but answered after the reload they triggered emptied the dashboard's memory chart.
 *
 * `stamp()` is taken when a request is sent; `accept(key, stamp)` with its answer says whether to
 * apply it: yes unless an answer for the same key to a request sent later was applied already.
 * `take(key)` is both for a request about one key.
 */
export function newestWins() {
  let issued = 0;
  const applied = new Map<string, number>();
  const accept = (key: string, stamp: number) => {
    if ((applied.get(key) ?? 0) > stamp) return false;
    applied.set(key, stamp);
    return true;
  };
  return {
    stamp: () => ++issued,
    accept,
    take(key: string): () => boolean {
      const stamp = ++issued;
      return () => accept(key, stamp);
    },
  };
}
