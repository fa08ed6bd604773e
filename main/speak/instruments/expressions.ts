/**
 * face-api's 7 expression classes against the 8 MEAD emotions the talking heads use. The
 * classifier knows no 'contempt'; 'fearful' is MEAD's 'fear'.
 */
import type { Expression } from './detect-faces';

export const EXPRESSION_FOR_EMOTION = {
  angry: 'angry',
  contempt: null,
  disgusted: 'disgusted',
  fear: 'fearful',
  happy: 'happy',
  neutral: 'neutral',
  sad: 'sad',
  surprised: 'surprised',
} as const satisfies Record<string, Expression | null>;

export type MeadEmotion = keyof typeof EXPRESSION_FOR_EMOTION;

/** The most probable expression and its probability. */
export function topExpression(expressions: Record<Expression, number>): { expression: Expression; probability: number } {
  let best: Expression = 'neutral';
  for (const [name, p] of Object.entries(expressions) as [Expression, number][]) if (p > expressions[best]) best = name;
  return { expression: best, probability: expressions[best] };
}
