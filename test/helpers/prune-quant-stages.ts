/** Teacher, prune and quantize stage runners (no export/profile), for pipeline tests of this area. */
import { stages as prune } from '../../src-main/compress/prune/stages';
import { stages as quantize } from '../../src-main/compress/quantize/stages';
import { stages as train } from '../../src-main/compress/train/stages';

export const stages = { ...train, ...prune, ...quantize };
