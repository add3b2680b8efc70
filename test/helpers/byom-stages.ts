/** The real stages a "bring your own model" run uses: load-teacher (imports), distill, quantize, export. */
import { stages as distill } from '../../src-main/compress/distill/stages';
import { stages as quantize } from '../../src-main/compress/quantize/stages';
import { stages as train } from '../../src-main/compress/train/stages';
import { stages as exporting } from '../../src-main/export/stages';

export const stages = { ...train, ...distill, ...quantize, ...exporting };
