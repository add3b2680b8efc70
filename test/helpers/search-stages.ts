/** Teacher training and the search stage (the profile-free part of the real registry), for search pipeline tests. */
import { stages as search } from '../../src-main/compress/search/stages';
import { stages as train } from '../../src-main/compress/train/stages';

export const stages = { ...train, ...search };
