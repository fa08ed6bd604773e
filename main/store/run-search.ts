/**
 * What a run's search words match: its name, notes and tags, and the settings its method actually
 * uses (the stored config also carries every other method's option block: "InfoPro" must not
 * match an end-to-end run because it holds InfoPro's defaults). Text is folded to lower-case words
 * ("K=4" -> "k 4", "InfoPro+HPFF" -> "infopro hpff"); a setting is "name value" ("seed 1").
 */
import { METHOD_NAMES } from '../../shared/api/run-names';

/** Lower-case words separated by single spaces (dots kept inside numbers: 0.1). */
export const foldWords = (text: string): string =>
  text
    .toLowerCase()
    .replace(/[^a-z0-9.]+/g, ' ')
    .replace(/(^|\s)\.+|\.+(?=\s|$)/g, ' ')
    .replace(/\s+/g, ' ')
    .trim();

/** The option blocks a method reads: InfoPro's for InfoPro and its HPFF/MAN variants, HPFF's and MAN's for theirs. */
export function blocksUsedBy(method: string): string[] {
  return [...(method === 'infopro' || method.startsWith('infopro+') ? ['infopro'] : []), ...(method.endsWith('+hpff') ? ['hpff'] : []), ...(method.endsWith('+man') ? ['man'] : [])];
}

const BLOCKS = ['infopro', 'hpff', 'man'];
const HIDDEN = new Set(['split', 'cuts', 'method', 'depth', ...BLOCKS]);

/** "key value" words of the settings a run's method uses, method, K, net and seed first. */
export function settingsText(config: Record<string, unknown>): string {
  const method = typeof config.method === 'string' ? config.method : '';
  const cuts = Array.isArray(config.cuts) ? config.cuts.length : Array.isArray(config.split) ? config.split.length : null;
  const parts = [method, METHOD_NAMES[method] ?? '', method === 'e2e' ? 'end to end k 1' : cuts === null ? '' : `k ${cuts + 1}`, `resnet${config.depth} resnet ${config.depth}`];
  // Nested settings are named by their path ("infopro.lossmode contrast", "datasplit.seed 7"): "seed 1" is the run's own seed.
  const add = (name: string, value: unknown) => {
    if (value === null || value === undefined) return;
    if (typeof value === 'object' && !Array.isArray(value)) for (const [k, v] of Object.entries(value)) add(`${name}.${k}`, v);
    else if (!Array.isArray(value)) parts.push(`${name} ${String(value)}`);
  };
  for (const [key, value] of Object.entries(config)) if (!HIDDEN.has(key)) add(key, value);
  if (typeof config.split === 'string') parts.push(`split ${config.split}`);
  for (const block of blocksUsedBy(method)) add(block, config[block]);
  return parts.join(' ');
}

const settingsCache = new Map<string, string>();
/** The folded text a run's search words are matched in; the settings part cached by config (sweeps share configs). */
export function runSearchText(name: string, notes: string, tags: string | null, configJson: string): string {
  let settings = settingsCache.get(configJson);
  if (settings === undefined) {
    settings = foldWords(settingsText(JSON.parse(configJson) as Record<string, unknown>));
    if (settingsCache.size > 20_000) settingsCache.clear();
    settingsCache.set(configJson, settings);
  }
  return ` ${foldWords(`${name} ${notes} ${tags ?? ''}`)} ${settings} `;
}

/**
 * The search as needles in runSearchText, all to be found: a word matches at a word's start
 * ("info" finds InfoPro); a name followed by a number is one term matched whole ("seed 1" is not
 * "seed 10" nor "epochs 1"), as is a number alone.
 */
export function searchNeedles(query: string): string[] {
  const words = foldWords(query).split(' ').filter(Boolean);
  const needles: string[] = [];
  for (let i = 0; i < words.length; i++) {
    const next = words[i + 1];
    if (next !== undefined && /^[a-z]/.test(words[i]!) && /^[0-9.]+$/.test(next)) {
      needles.push(` ${words[i]} ${next} `);
      i++;
    } else needles.push(/^[0-9.]+$/.test(words[i]!) ? ` ${words[i]} ` : ` ${words[i]}`);
  }
  return needles;
}

/**
 * Whether a run's search text holds every needle (one call per row, however many words). A word
 * also matches a setting path's part ("lossmode" in "infopro.lossmode"); a name-value term does not.
 */
export const matchesAll = (text: string, needles: readonly string[]): boolean =>
  needles.every((n) => text.includes(n) || (!n.endsWith(' ') && text.includes(`.${n.slice(1)}`)));
