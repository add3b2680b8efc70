/**
 * The stage runners this build of PocketBench has. Each capability registers its runner here as
 * it lands (train-teacher and distill from compress/, prune, quantize, export, profile).
 */
import type { StageRegistry } from './stage';

export const stages: StageRegistry = {};
