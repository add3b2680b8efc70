/** Schema pieces shared by the contract's areas. */
import { z } from 'zod';

export const id = z.number().int().positive();
export const paging = {
  limit: z.number().int().min(1).max(1000).default(100),
  offset: z.number().int().min(0).default(0),
};
/** For methods without arguments: accepts nothing, null or {}. */
export const none = z.undefined().or(z.null()).or(z.object({}).strict()).optional();
