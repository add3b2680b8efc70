/** Pipeline stage runners owned by this area (prune). Registered in src-main/pipeline/stages.ts. */
import type { StageRegistry } from '../../pipeline/stage';

export const stages: StageRegistry = {};
