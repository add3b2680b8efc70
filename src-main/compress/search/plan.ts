/** The search spec checked and sized before it runs (the wizard's review step, `search.plan`). */
import { validateRecipe } from '../../../src-shared/recipe';
import { type SearchPlan, searchRecipe, searchSpecSchema } from '../../../src-shared/search';
import { FINALISTS, rungSchedule } from './halving';

export function planSearch(input: unknown): SearchPlan {
  const parsed = searchSpecSchema.safeParse(input);
  if (!parsed.success) return { ok: false, errors: parsed.error.issues.map((i) => ({ path: i.path.map(String).join('.') || '(spec)', message: i.message })) };
  const recipe = searchRecipe(parsed.data);
  const checked = validateRecipe(recipe);
  if (!checked.ok) return { ok: false, errors: checked.errors };
  const s = parsed.data;
  const templates = s.space.templates?.length ? s.space.templates.length : 1;
  const architectures = templates * new Set(s.space.widths).size * (s.space.resolutions?.length ? new Set(s.space.resolutions).size : 1);
  const rungs = rungSchedule(architectures, s.strategy.eta, s.strategy.minEpochs, s.strategy.maxEpochs);
  return { ok: true, errors: [], recipe, architectures, rungs, candidates: Math.min(FINALISTS, architectures) * s.space.sparsities.length * s.space.precisions.length, target: s.target };
}
