/** Engine pieces of the run wizard: dataset preview, teacher summary, capacity check, time estimate. */
export { default as CapacityCheck } from './CapacityCheck.svelte';
export { default as DatasetPreview } from './DatasetPreview.svelte';
export { default as ImportModel } from './ImportModel.svelte';
export { default as RecipeEstimate } from './RecipeEstimate.svelte';
export { default as TeacherSummary } from './TeacherSummary.svelte';
