/** Pipeline stage runners owned by this area (quantize). Registered in src-main/pipeline/stages.ts. */
import type { StageRegistry } from '../../pipeline/stage';
import { runQuantize } from './run';

export const stages: StageRegistry = { quantize: runQuantize };
