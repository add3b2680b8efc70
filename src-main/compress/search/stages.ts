/** Pipeline stage runners owned by this area (search). Registered in src-main/pipeline/stages.ts. */
import type { StageRegistry } from '../../pipeline/stage';
import { runSearch } from './run';

export const stages: StageRegistry = { search: runSearch };
