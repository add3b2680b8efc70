/**
 * The stage runners this build of PocketBench has. Each area owns its runners in its own
 * `stages.ts`; this file only gathers them, so areas never edit each other's files.
 */
import { stages as distill } from '../compress/distill/stages';
import { stages as prune } from '../compress/prune/stages';
import { stages as quantize } from '../compress/quantize/stages';
import { stages as search } from '../compress/search/stages';
import { stages as train } from '../compress/train/stages';
import { stages as profile } from '../devices/stages';
import { stages as exporting } from '../export/stages';
import type { StageRegistry } from './stage';

export const stages: StageRegistry = { ...train, ...distill, ...prune, ...quantize, ...exporting, ...profile, ...search };
