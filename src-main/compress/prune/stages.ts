/** Pipeline stage runners owned by this area (prune). Registered in src-main/pipeline/stages.ts. */
import type { StageRegistry } from '../../pipeline/stage';
import { runPrune } from './run';

export const stages: StageRegistry = { prune: runPrune };
